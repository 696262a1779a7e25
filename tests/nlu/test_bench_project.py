"""The benchmarks' scoring of the project's data: labels, the out-of-scope rule, thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.shared.nlu.training_data.loading import load_data

from bench.nlu_benchmark import choose_threshold, threshold_for_recall
from bench.nlu_heldout import evaluate
from bench.nlu_project import (
    LabelledText,
    ProjectDataError,
    load_examples,
    predicted_label,
    score_language,
    thresholded_label,
    write_nlu_yaml,
)


def _prediction(intent: str, top: str, confidence: float, second: float = 0.0,
                response_key: str | None = None, language: str | None = "en",
                entities: list[list[Any]] | None = None) -> dict[str, Any]:
    return {"intent": intent, "top_intent": top, "top_confidence": confidence,
            "second_confidence": second, "response_key": response_key, "language": language,
            "entities": entities or []}


def test_out_of_scope_is_right_when_it_reaches_the_knowledge_fallback() -> None:
    gold = ["out_of_scope", "out_of_scope", "out_of_scope", "greet", "greet", "faq/privacy"]
    predicted = ["nlu_fallback", "out_of_scope", "faq/privacy", "greet", "nlu_fallback",
                 "faq/invoices"]
    s = score_language(gold, predicted)
    assert s.accuracy == pytest.approx(3 / 6)
    assert s.oos_recall == pytest.approx(2 / 3)
    assert s.in_scope_accuracy == pytest.approx(1 / 3)
    assert s.confident_wrong == pytest.approx(2 / 6)  # faq/privacy for OOS, faq/invoices
    assert s.in_scope_to_fallback == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score_language(["a", "b"], ["a"])


def test_faq_predictions_are_labelled_with_their_topic() -> None:
    faq = _prediction("faq", "faq", 0.8, 0.1, response_key="faq/privacy")
    assert predicted_label(faq) == "faq/privacy"
    assert predicted_label({**faq, "intent": "nlu_fallback"}) == "nlu_fallback"
    assert thresholded_label(faq, 0.85, 0.0) == "nlu_fallback"
    assert thresholded_label(faq, 0.5, 0.0) == "faq/privacy"
    assert thresholded_label(faq, 0.5, 0.75) == "nlu_fallback"  # ambiguous: 0.8 - 0.1 < 0.75
    assert thresholded_label(_prediction("greet", "greet", 0.6), 0.5, 0.1) == "greet"


def test_training_yaml_round_trips_with_retrieval_intents(tmp_path: Path) -> None:
    examples = [
        LabelledText("where is [my] order", "check_order_status", "en"),
        LabelledText("hur lång är leveranstiden", "faq/shipping_times", "sv"),
        LabelledText("我想退貨", "start_return", "zh"),
    ]
    data = load_data(str(write_nlu_yaml(examples, tmp_path / "nlu.yml")))
    got = {(m.get("text"), m.get("intent_response_key") or m.get("intent"))
           for m in data.intent_examples}
    assert got == {("where is (my) order", "check_order_status"),
                   ("hur lång är leveranstiden", "faq/shipping_times"),
                   ("我想退貨", "start_return")}


def test_examples_per_language_folder_or_file(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n'
        '    - it is [A12345](order_number)\n',
        encoding="utf-8")
    (tmp_path / "sv.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: faq/privacy\n  examples: |\n    - radera mina data\n',
        encoding="utf-8")
    examples = load_examples(tmp_path, ("en", "sv"))
    assert examples == [
        LabelledText("it is A12345", "inform", "en", (("order_number", "A12345"),)),
        LabelledText("radera mina data", "faq/privacy", "sv"),
    ]
    with pytest.raises(ProjectDataError, match="no NLU data for 'nb'"):
        load_examples(tmp_path, ("en", "nb"))


def test_heldout_evaluation_per_language_with_entities_and_language() -> None:
    examples = [
        LabelledText("var är A12345", "check_order_status", "sv",
                     (("order_number", "a12345"),)),
        LabelledText("prenumerera på nyhetsbrevet", "out_of_scope", "sv"),
        LabelledText("ok", "affirm", "sv"),
    ]
    predictions = [
        _prediction("check_order_status", "check_order_status", 0.9, language="sv",
                    entities=[["order_number", "A12345", 7, 13]]),
        _prediction("faq/privacy", "faq", 0.7, response_key="faq/privacy", language="sv"),
        _prediction("affirm", "affirm", 0.9, language=None),
    ]
    result = evaluate(examples, predictions)
    sv = result.scores["sv"]
    assert sv.accuracy == pytest.approx(2 / 3) and sv.oos_recall == 0.0
    assert result.entity_recall["sv"] == 1.0 and result.entity_precision["sv"] == 1.0
    assert result.language_detected["sv"] == pytest.approx(2 / 3)
    assert result.language_unknown["sv"] == pytest.approx(1 / 3)
    assert any("sv: out-of-scope recall 0.000" in miss for miss in result.misses())
    assert "en: no examples" in result.misses()


def test_threshold_is_chosen_for_balanced_in_scope_accuracy_and_recall() -> None:
    gold = ["a", "a", "b", "out_of_scope", "out_of_scope"]
    predictions = [
        {"top_intent": "a", "top_confidence": 0.9, "second_confidence": 0.0},
        {"top_intent": "a", "top_confidence": 0.6, "second_confidence": 0.0},
        {"top_intent": "b", "top_confidence": 0.7, "second_confidence": 0.0},
        {"top_intent": "a", "top_confidence": 0.4, "second_confidence": 0.0},
        {"top_intent": "b", "top_confidence": 0.5, "second_confidence": 0.0},
    ]
    # Above 0.4 and up to 0.55 every in-scope answer stays and both OOS queries fall back.
    assert 0.4 < choose_threshold(gold, predictions, 0.0) <= 0.55


def test_threshold_for_recall_is_the_lowest_that_reaches_it() -> None:
    gold = ["a", "a", "out_of_scope", "out_of_scope"]
    predictions = [
        {"top_intent": "a", "top_confidence": 0.9, "second_confidence": 0.0},
        {"top_intent": "a", "top_confidence": 0.5, "second_confidence": 0.0},
        {"top_intent": "a", "top_confidence": 0.2, "second_confidence": 0.0},
        {"top_intent": "a", "top_confidence": 0.42, "second_confidence": 0.0},
    ]
    # recall 1/2 from above 0.2, 2/2 from above 0.42: the lowest swept one is 0.45
    assert threshold_for_recall(gold, predictions, 0.0, recall=1.0) == pytest.approx(0.45)
    assert threshold_for_recall(gold, predictions, 0.0, recall=0.5) == pytest.approx(0.25)


def test_short_replies_may_be_in_both_sets_longer_messages_may_not() -> None:
    from bench.nlu_heldout import is_short_reply, text_key, unseen_indices

    assert is_short_reply("yes") and is_short_reply("hi there") and is_short_reply("好的")
    assert not is_short_reply("is my order on its way")
    assert not is_short_reply("我想退貨")
    examples = [LabelledText("Hi  There", "greet", "en"), LabelledText("new one", "greet", "en")]
    assert text_key("Hi  There") == "hi there"
    assert unseen_indices(examples, {"hi there"}) == [1]


def _cv_config(english: str | None) -> dict[str, Any]:
    featurizer: dict[str, Any] = {"name": "nlu.featurizers.SentenceEmbeddingFeaturizer",
                                  "encoder": "e5"}
    if english is not None:
        featurizer["english_encoder"] = english
    return {"pipeline": [{"name": "CountVectorsFeaturizer"}, featurizer]}


@pytest.mark.parametrize(
    ("configured", "override", "expected"),
    [
        ("minilm", None, "minilm"),  # config.yml's own setting
        (None, None, None),
        ("minilm", "none", None),  # NLU_ENGLISH_ENCODER=none turns it off
        (None, "minilm", "minilm"),
        ("minilm", "e5", None),  # the same as the main encoder: no second vector
    ],
)
def test_cross_validation_names_the_english_encoder_it_trains_with(
    configured: str | None, override: str | None, expected: str | None
) -> None:
    from bench.nlu_cv import english_encoder_of, run_name

    english = english_encoder_of(_cv_config(configured), "e5", override)
    assert english == expected
    name = run_name("e5", english, 3.0)
    assert name == ("e5+minilm-en-dense3" if expected else "e5-dense3")
    assert run_name("e5", english, None) == name.removesuffix("-dense3")


def test_cross_validation_can_compare_folding_diacritics() -> None:
    from bench.nlu_cv import pipeline_config, run_name, with_fold_diacritics

    config = pipeline_config(Path(__file__).resolve().parents[2] / "config.yml")
    for fold in (True, False):
        changed = with_fold_diacritics(config, fold)
        [tokenizer] = [s for s in changed["pipeline"]
                       if s["name"] == "nlu.reading.MultilingualTokenizer"]
        assert tokenizer["fold_diacritics"] is fold
        others = [s for s in changed["pipeline"] if s is not tokenizer]
        assert others == [s for s in config["pipeline"]
                          if s["name"] != "nlu.reading.MultilingualTokenizer"]
    assert run_name("e5", None, None, True) == "e5-fold"
    assert run_name("e5", "minilm", 3.0, False) == "e5+minilm-en-dense3-nofold"
    assert run_name("e5", None, None) == "e5"
    with pytest.raises(SystemExit, match="no MultilingualTokenizer"):
        with_fold_diacritics({"pipeline": [{"name": "WhitespaceTokenizer"}]}, True)


def test_held_out_messages_typed_without_diacritics(tmp_path: Path) -> None:
    from bench.nlu_heldout import typed_without_diacritics, write_report

    examples = [
        LabelledText("var är min beställning", "check_order_status", "sv"),
        LabelledText("hvor er pakken min", "check_order_status", "nb"),  # nothing to fold
        LabelledText("jeg vil returnere sofaen, den er ødelagt", "start_return", "nb"),
        LabelledText("café opening hours", "faq/contact_hours", "en"),  # English: left alone
        LabelledText("我的訂單", "check_order_status", "zh"),
    ]
    marked, folded = typed_without_diacritics(examples)
    assert marked == [0, 2]
    assert [e.text for e in folded] == ["var ar min bestallning",
                                        "jeg vil returnere sofaen, den er odelagt"]
    assert [(e.label, e.language) for e in folded] == [
        (examples[i].label, examples[i].language) for i in marked]

    def prediction(label: str, language: str) -> dict[str, Any]:
        return {"intent": label, "confidence": 0.9, "top_intent": label, "top_confidence": 0.9,
                "second_confidence": 0.0, "response_key": None, "response_confidence": None,
                "language": language, "entities": []}

    written = evaluate([examples[i] for i in marked],
                       [prediction(examples[i].label, examples[i].language) for i in marked])
    without = evaluate(folded, [prediction("check_order_status", "sv"),
                                prediction("complaint", "sv")])
    report = write_report(written, model="m", how="h", path=tmp_path / "r.md",
                          without_diacritics=(written, without))
    section = report.split("## Swedish and Norwegian typed without diacritics")[1]
    assert "| intent accuracy, as written | 1.000 | 1.000 |" in section
    assert "| **intent accuracy, without diacritics** | 1.000 | 0.000 |" in section
    assert "| language detected as the file's, without diacritics | 1.000 | 0.000 |" in section
    # the dialogue's rule on a page in the message's language: the Swedish one stays Swedish;
    # the Norwegian one, guessed Swedish, stays Norwegian only if the guess is unsure
    from nordvik.languages import unsure_between_scandinavian

    nb_kept = unsure_between_scandinavian(folded[1].text, "sv")
    assert without.conversation_language == {"sv": 1.0, "nb": 1.0 if nb_kept else 0.0}
    assert written.conversation_language == {"sv": 1.0, "nb": 1.0}
