"""The benchmark's dataset converters, metrics and config extraction on small slices."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

from bench.nlu_benchmark import BenchConfigError, fallback_thresholds, nlu_config
from bench.nlu_data import (
    OOS_LABEL,
    DatasetError,
    load_banking77,
    load_clinc150,
    to_rasa_nlu_yaml,
    write_training_data,
)
from bench.nlu_metrics import (
    fallback_rate,
    final_labels,
    score,
    thresholded_labels,
    top_labels,
)

ROOT = Path(__file__).resolve().parents[2]


def _banking(tmp_path: Path) -> Path:
    directory = tmp_path / "banking77"
    directory.mkdir()
    (directory / "train.csv").write_text(
        "text,category\n"
        "I am still waiting on my card?,card_arrival\n"
        '"Why is my [card] declined, again?",declined_card_payment\n'
        "How do I top up?,top_up\n"
        "My payment was reverted,reverted_card_payment?\n",
        encoding="utf-8",
    )
    (directory / "test.csv").write_text(
        "text,category\nWhere is my card?,card_arrival\n", encoding="utf-8"
    )
    return directory


def _clinc(tmp_path: Path, **override: object) -> Path:
    data: dict[str, object] = {
        "train": [["what is 2 plus 2", "calculator"], ["translate hello", "translate"]],
        "val": [["translate bye", "translate"]],
        "test": [["add 3 and 4", "calculator"]],
        "oos_train": [["how tall is the moon", "oos"]],
        "oos_val": [["who won", "oos"]],
        "oos_test": [["what is the meaning of life", "oos"], ["sing to me", "oos"]],
    }
    data.update(override)
    path = tmp_path / "data_full.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_banking77_converts_to_rasa_nlu_yaml(tmp_path: Path) -> None:
    dataset = load_banking77(_banking(tmp_path))
    assert len(dataset.train) == 4 and len(dataset.test) == 1
    path = write_training_data(dataset, tmp_path / "out")
    training = RasaYAMLReader().read(path)
    assert training.intents == {
        "card_arrival", "declined_card_payment", "top_up", "reverted_card_payment"
    }
    texts = {m.get("text") for m in training.intent_examples}
    assert "Why is my (card) declined, again?" in texts  # brackets are not entity markup
    assert not training.entity_examples


def test_clinc150_trains_in_scope_only_and_tests_with_out_of_scope(tmp_path: Path) -> None:
    dataset = load_clinc150(_clinc(tmp_path))
    assert {e.label for e in dataset.train} == {"calculator", "translate"}
    assert [e.label for e in dataset.test] == ["calculator", OOS_LABEL, OOS_LABEL]
    assert [(e.text, e.label) for e in dataset.validation] == [
        ("translate bye", "translate"), ("who won", OOS_LABEL),
    ]
    with_oos = load_clinc150(_clinc(tmp_path), oos_train=True)
    assert with_oos.name == "clinc150_oos"
    assert [e.label for e in with_oos.train][-1] == OOS_LABEL
    assert with_oos.test == dataset.test
    training = RasaYAMLReader().reads(to_rasa_nlu_yaml(dataset.train))
    assert len(training.intent_examples) == 2


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"train": "nope"}, "split 'train' is missing or not a list"),
        ({"test": [["only text"]]}, r"test\[0\] is not a \[text, intent\] pair"),
        ({"test": [["  ", "calculator"]]}, r"test\[0\] has an empty text"),
        ({"train": [["hi", "?!"]]}, "is not a usable intent name"),
        ({"train": [["hi", "oos"]]}, "contains out-of-scope examples"),
    ],
)
def test_malformed_clinc150_is_rejected(
    tmp_path: Path, override: dict[str, object], message: str
) -> None:
    with pytest.raises(DatasetError, match=message):
        load_clinc150(_clinc(tmp_path, **override))


def test_missing_or_broken_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="Banking77 file not found"):
        load_banking77(tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_clinc150(bad)
    (tmp_path / "train.csv").write_text("sentence,label\nhi,x\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="expected the columns"):
        load_banking77(tmp_path)


def test_scores_count_fallback_as_out_of_scope() -> None:
    gold = ["a", "b", OOS_LABEL, OOS_LABEL]
    predictions = [
        {"intent": "a", "top_intent": "a", "top_confidence": 0.9, "second_confidence": 0.05},
        {"intent": "nlu_fallback", "top_intent": "b", "top_confidence": 0.3,
         "second_confidence": 0.2},
        {"intent": "nlu_fallback", "top_intent": "a", "top_confidence": 0.2,
         "second_confidence": 0.1},
        {"intent": "b", "top_intent": "b", "top_confidence": 0.6, "second_confidence": 0.1},
    ]
    s = score(gold, final_labels(predictions), has_oos=True)
    assert s.accuracy == 0.5
    assert s.in_scope_accuracy == 0.5
    assert s.oos_recall == 0.5
    swept = score(gold, thresholded_labels(predictions, 0.25, 0.0), has_oos=True)
    assert swept.in_scope_accuracy == 1.0 and swept.oos_recall == 0.5
    ambiguous = thresholded_labels(predictions, 0.0, 0.5)
    assert ambiguous == ["a", OOS_LABEL, OOS_LABEL, "b"]
    with pytest.raises(ValueError, match="4 gold labels but 3 predictions"):
        score(gold, final_labels(predictions[:3]), has_oos=True)


def test_nlu_config_takes_the_pipeline_without_response_selector(tmp_path: Path) -> None:
    config_file = tmp_path / "old.yml"
    config_file.write_text(
        "language: en\npipeline:\n  - name: WhitespaceTokenizer\n  - name: ResponseSelector\n"
        "  - name: FallbackClassifier\n    threshold: 0.3\n    ambiguity_threshold: 0.1\n"
        "policies: []\n",
        encoding="utf-8",
    )
    names = [step["name"] for step in nlu_config(config_file)["pipeline"]]
    assert names == ["WhitespaceTokenizer", "FallbackClassifier"]
    kept = nlu_config(config_file, keep_response_selector=True)
    assert "ResponseSelector" in [step["name"] for step in kept["pipeline"]]
    assert fallback_thresholds(kept) == (0.3, 0.1)
    project = [step["name"] for step in nlu_config(ROOT / "config.yml")["pipeline"]]
    assert "nlu.featurizers.SentenceEmbeddingFeaturizer" in project
    broken = tmp_path / "config.yml"
    broken.write_text("policies: []\n", encoding="utf-8")
    with pytest.raises(BenchConfigError, match="no 'pipeline' list"):
        nlu_config(broken)


def test_top_labels_ignore_the_fallback_and_the_rate_counts_it() -> None:
    predictions = [
        {"intent": "nlu_fallback", "top_intent": "a", "top_confidence": 0.2,
         "second_confidence": 0.1},
        {"intent": "b", "top_intent": "b", "top_confidence": 0.9, "second_confidence": 0.05},
    ]
    assert top_labels(predictions) == ["a", "b"]
    assert fallback_rate(predictions) == 0.5
