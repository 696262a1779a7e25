"""Review marks exported as NLU training data that Rasa itself reads; no contradictions with
the existing training data; a bad intent or message is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics import db
from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.review import ReviewError, export, intent_choices, mark_message, marks
from tests.analytics.scripts import Script

ROOT = Path(__file__).resolve().parents[2]


def turn_keys(engine: Engine) -> dict[str, str]:
    with db.transaction(engine) as conn:
        return {text: key for key, text in conn.execute(
            select(db.turns.c.event_key, db.turns.c.text))}


@pytest.fixture()
def messages(writer: FactWriter, engine: Engine) -> dict[str, str]:
    script = Script("r1", 1_700_000_000.0).session()
    for text in ("wher is my parcle", "send [it](email) to bo@example.se please",
                 "  two   lines\nhere ", "hi", "kan jag byta storlek?"):
        script.user(text, "nlu_fallback", confidence=0.2).listen()
    writer.ingest([compact(e) for e in script.events])
    return turn_keys(engine)


def test_intent_choices_come_from_the_domain() -> None:
    choices = intent_choices(ROOT / "domain")
    assert "check_order_status" in choices and "faq/shipping_times" in choices
    assert "faq" not in choices
    assert not any(c.startswith("EXTERNAL_") for c in choices)


def test_export_is_rasa_training_data(engine: Engine, messages: dict[str, str],
                                      tmp_path: Path) -> None:
    choices = ["check_order_status", "inform", "greet", "faq/exchanges"]
    mark_message(engine, messages["wher is my parcle"], "check_order_status", marked_by="a",
                 choices=choices)
    mark_message(engine, messages["send [it](email) to [e-mail] please"], "inform",
                 marked_by="a", choices=choices)
    mark_message(engine, messages["  two   lines\nhere "], "inform", marked_by="a",
                 choices=choices)
    mark_message(engine, messages["hi"], "greet", marked_by="a", choices=choices)
    mark_message(engine, messages["kan jag byta storlek?"], "faq/exchanges", marked_by="a",
                 choices=choices)
    data = tmp_path / "data"
    (data / "nlu").mkdir(parents=True)
    (data / "nlu" / "core.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - Hi\n')
    out = data / "nlu" / "review.yml"
    result = export(engine, out, data_dir=data)
    assert result.written == 4 and result.skipped_known == [("hi", "greet")]
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    training = RasaYAMLReader().read(out)
    examples = {(m.get("text"), m.get("intent")) for m in training.intent_examples}
    assert examples == {
        ("wher is my parcle", "check_order_status"),
        ("send (it)(email) to customer@example.com please", "inform"),
        ("two lines here", "inform"),
        ("kan jag byta storlek?", "faq"),
    }
    assert not any(m.get("entities") for m in training.intent_examples)
    assert all(m.exported_at is not None for m in marks(engine))
    # exporting again rewrites the same file (marks are not lost or doubled)
    assert export(engine, out, data_dir=data).written == 4


def test_marking_again_replaces_the_mark(engine: Engine, messages: dict[str, str]) -> None:
    key = messages["hi"]
    mark_message(engine, key, "greet", marked_by="a", choices=["greet", "goodbye"])
    mark_message(engine, key, "goodbye", marked_by="b", choices=["greet", "goodbye"])
    [only] = marks(engine)
    assert (only.intent, only.marked_by, only.predicted_intent) == ("goodbye", "b",
                                                                    "nlu_fallback")


def test_bad_marks_are_refused(engine: Engine, messages: dict[str, str]) -> None:
    with pytest.raises(ReviewError, match="not an intent"):
        mark_message(engine, messages["hi"], "made_up", marked_by="a", choices=["greet"])
    with pytest.raises(ReviewError, match="no customer message"):
        mark_message(engine, "0" * 64, "greet", marked_by="a", choices=["greet"])
    assert marks(engine) == []


def test_an_unwritable_review_file_is_a_clear_error(engine: Engine, messages: dict[str, str],
                                                    tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    mark_message(engine, messages["hi"], "greet", marked_by="a", choices=["greet"])
    with pytest.raises(ReviewError, match="cannot write"):
        export(engine, blocker / "review.yml", data_dir=tmp_path)
    assert [m.exported_at for m in marks(engine)] == [None]  # not marked as exported
