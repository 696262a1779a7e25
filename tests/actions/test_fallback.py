"""The two-stage fallback's questions (actions/fallback.py): readable, in the customer's
language, with buttons that lead somewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import (
    FAQ_QUESTIONS,
    FAQ_TOPIC_QUESTIONS,
    INTENT_QUESTIONS,
    ActionDefaultAskAffirmation,
    ActionDefaultAskRephrase,
    best_guess,
)
from tests.support.trackers import make_tracker

ROOT = Path(__file__).resolve().parents[2]


def _parse(ranking: list[tuple[str, float]], topic: str | None = None) -> dict[str, Any]:
    parse: dict[str, Any] = {
        "intent": {"name": "nlu_fallback", "confidence": 1.0},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }
    if topic:
        parse["response_selector"] = {"faq": {"response": {
            "intent_response_key": f"faq/{topic}", "confidence": 0.3}}}
    return parse


def _run(action: Any, parse: dict[str, Any], slots: dict[str, Any] | None = None
         ) -> CollectingDispatcher:
    tracker = make_tracker(text="blorp", intent="nlu_fallback", slots=slots)
    tracker.latest_message = parse
    dispatcher = CollectingDispatcher()
    assert action.run(dispatcher, tracker, {}) == []
    return dispatcher


def test_faq_guess_names_the_topic_and_affirms_with_a_training_question() -> None:
    parse = _parse([("nlu_fallback", 1.0), ("faq", 0.9), ("greet", 0.1)], "shipping_times")
    dispatcher = _run(ActionDefaultAskAffirmation(), parse, {"customer_language": "en"})
    [said] = dispatcher.messages
    assert said["text"] == (
        "Sorry, I'm not quite sure I understood. "
        "Is your question about delivery times and shipping costs?"
    )
    assert "'faq'" not in said["text"]
    assert [(b["title"], b["payload"]) for b in said["buttons"]] == [
        ("Yes", "how long does shipping take"), ("No", "/out_of_scope"),
        ("Talk to a person", "/request_human"),
    ]


def test_intent_guess_skips_intents_that_make_no_question() -> None:
    parse = _parse([("nlu_fallback", 1.0), ("greet", 0.5), ("affirm", 0.3),
                    ("check_order_status", 0.2)])
    assert best_guess(parse) == (INTENT_QUESTIONS["check_order_status"], "/check_order_status")


def test_no_usable_guess_offers_a_person() -> None:
    parse = _parse([("nlu_fallback", 1.0), ("greet", 0.6), ("inform", 0.4)])
    [said] = _run(ActionDefaultAskAffirmation(), parse, {"customer_language": "en"}).messages
    assert said["text"].startswith("Sorry, I couldn't find an answer to that")
    assert [b["payload"] for b in said["buttons"]] == ["/request_human"]


@pytest.mark.parametrize(
    ("language", "start", "note"),
    [("sv", "Tyvärr hittade jag inget svar", "på svenska"),
     ("nb", "Beklager, jeg fant ikke noe svar", "på norsk"),
     ("zh", "很抱歉，我在說明文章中找不到", "用中文")],
)
def test_other_languages_get_no_english_guess_but_a_person_in_their_language(
    language: str, start: str, note: str
) -> None:
    parse = _parse([("nlu_fallback", 1.0), ("faq", 0.9)], "shipping_times")
    messages = _run(ActionDefaultAskAffirmation(), parse,
                    {"customer_language": language}).messages
    assert messages[0]["text"].startswith(start)
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/request_human"]
    assert note in messages[1]["text"]


def test_rephrase_in_english_uses_the_domain_response_and_in_swedish_a_swedish_text() -> None:
    parse = _parse([("nlu_fallback", 1.0)])
    [english] = _run(ActionDefaultAskRephrase(), parse, {"customer_language": "en"}).messages
    assert english["response"] == "utter_ask_rephrase"
    [swedish] = _run(ActionDefaultAskRephrase(), parse, {"customer_language": "sv"}).messages
    assert swedish["text"] == "Kan du berätta lite mer, med andra ord?"


def test_every_faq_topic_has_a_question_and_an_affirming_training_example() -> None:
    nlu = yaml.safe_load((ROOT / "data" / "nlu" / "faq.yml").read_text(encoding="utf-8"))["nlu"]
    examples = {
        block["intent"].split("/", 1)[1]: {
            line[2:].strip() for line in block["examples"].splitlines() if line.strip()
        }
        for block in nlu
    }
    assert set(FAQ_TOPIC_QUESTIONS) == set(examples) == set(FAQ_QUESTIONS)
    for topic, question in FAQ_QUESTIONS.items():
        assert question in examples[topic], f"{question!r} is not a faq/{topic} example"
    domain = yaml.safe_load((ROOT / "domain" / "faq.yml").read_text(encoding="utf-8"))
    assert {key.split("/", 1)[1] for key in domain["responses"]} == set(FAQ_TOPIC_QUESTIONS)
