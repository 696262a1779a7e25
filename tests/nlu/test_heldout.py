"""The project's trained model on the independent held-out set (heldout/nlu/), per language.

Writes reports/nlu_heldout.md and holds the model to issue 10's targets: intent accuracy at least
0.95 in English and 0.90 in Swedish, Norwegian and Chinese, out-of-scope recall at least 0.80 in
each. Nothing is tuned on this set; it only measures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.nlu_heldout import (
    HELDOUT,
    is_short_reply,
    parse_all,
    predictions_from_parses,
    score_all,
    text_key,
    texts_to_parse,
    training_keys,
    write_report,
)
from bench.nlu_project import LANGUAGES, load_examples
from tests.support.fixtures import rasa_model  # noqa: F401 - the session's trained model

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_heldout_set_is_apart_from_the_training_data() -> None:
    heldout = load_examples(HELDOUT)
    training = training_keys(ROOT / "data" / "nlu")
    leaked = [e.text for e in heldout
              if text_key(e.text) in training and not is_short_reply(e.text)]
    assert not leaked, f"held-out examples also in data/nlu: {leaked[:10]}"
    for language in LANGUAGES:
        labels = {e.label for e in heldout if e.language == language}
        assert len([e for e in heldout if e.language == language]) >= 300, language
        assert {"out_of_scope", "check_order_status", "faq/returns_policy"} <= labels, language


async def test_heldout_targets_per_language(rasa_model: Path) -> None:  # noqa: F811
    examples = load_examples(HELDOUT)
    parses = await parse_all(rasa_model, texts_to_parse(examples))
    scores = score_all(examples, predictions_from_parses(parses),
                       training_keys(ROOT / "data" / "nlu"))
    write_report(scores.everything, model=f"`models/{rasa_model.name}` (the project's model)",
                 how="Written by `tests/nlu/test_heldout.py` (Agent.parse_message).",
                 unseen=scores.unseen, without_diacritics=(scores.written, scores.without))
    assert set(scores.without.scores) == {"sv", "nb", "all"}
    assert scores.without.scores["all"].examples == scores.written.scores["all"].examples
    assert not scores.unseen.misses(), f"{scores.unseen.misses()}; see reports/nlu_heldout.md"
