"""bench.nlu_heldout's "did you mean ...?" figures: when the dialogue would ask, and whether
the guess it names is the message's label, on crafted parse data (no model)."""

from __future__ import annotations

from typing import Any

from bench.nlu_heldout import clarification_section, guess_label, score_clarification
from bench.nlu_project import LabelledText


def parse(intent: str, *ranked: tuple[str, float], topic: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"intent": {"name": intent},
                           "intent_ranking": [{"name": n, "confidence": c} for n, c in ranked]}
    if topic is not None:
        out["response_selector"] = {"faq": {"response": {"intent_response_key": topic}}}
    return out


def test_guess_labels() -> None:
    assert guess_label("utter_clarify_faq_gift_cards") == "faq/gift_cards"
    assert guess_label("utter_clarify_cancel_order") == "cancel_order"


def test_clarification_is_counted_per_language() -> None:
    examples = [
        LabelledText("a", "faq/shipping_times", "sv"),  # asked, first guess right
        LabelledText("b", "cancel_order", "sv"),  # asked about two, the second is right
        LabelledText("c", "start_return", "sv"),  # confident answer: not asked
        LabelledText("d", "out_of_scope", "sv"),  # asked: "None of these" is right
        LabelledText("e", "out_of_scope", "zh"),  # fallback, no guess to name
    ]
    parses = [
        parse("nlu_fallback", ("nlu_fallback", 0.7), ("faq", 0.25), topic="faq/shipping_times"),
        parse("nlu_fallback", ("nlu_fallback", 0.7), ("check_order_status", 0.25),
              ("cancel_order", 0.2)),
        parse("start_return", ("start_return", 0.9)),
        parse("out_of_scope", ("out_of_scope", 0.8), ("complaint", 0.2)),
        parse("out_of_scope", ("out_of_scope", 0.9), ("greet", 0.05)),
    ]
    scores = score_clarification(examples, parses)
    assert list(scores) == ["sv", "zh", "all"]
    sv = scores["sv"]
    assert (sv.messages, sv.fallback, sv.fired, sv.two) == (4, 3, 3, 1)
    assert (sv.in_scope_fired, sv.first_right, sv.either_right) == (2, 1, 2)
    assert (sv.oos, sv.oos_fired) == (1, 1)
    assert (scores["zh"].fallback, scores["zh"].fired) == (1, 0)
    assert scores["all"].messages == 5 and scores["all"].fired == 3
    lines = clarification_section(scores, {"all": scores["all"]})
    fired = next(line for line in lines if line.startswith("| **clarification would fire**"))
    assert "0.750 (3/4)" in fired and "0.000 (0/1)" in fired
    right = next(line for line in lines if line.startswith("| **first guess right**"))
    assert "0.500 (1/2)" in right
    assert "heldout_blind/nlu (aggregate only):" in lines
