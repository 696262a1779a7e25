"""The conversation's context: the sticky language, whether a rating is due, and the bot's open
question kept for exactly one customer message."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.common import ActionTrackContext, next_language, open_question, rating_due
from tests.actions.helpers import run
from tests.support.trackers import (
    action_event,
    bot_event,
    make_tracker,
    slot_event,
    user_event,
)


def message(text: str, detected: str | None, page: str | None = None) -> dict[str, Any]:
    """A latest_message: the text, the NLU's detection and the widget's page language."""
    return {"text": text, "language": detected,
            "metadata": {"language": page} if page else {}}


# --- language -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "detected"), [
    ("ok", None),
    ("ok", "en"),
    ("ja", "nb"),
    ("A10001", "en"),
    ("anna.berg@example.com", "en"),
    ("Ａ１０００１", None),
    ("tracking please", "en"),
    ("thanks Anna", "en"),
    ("A10001 anna.berg@example.com", "en"),
    ("A10001 anna.berg@example.com thanks", "en"),
    ("my email: anna.berg@example.com", "en"),
])
def test_short_messages_do_not_flip_an_established_language(text: str,
                                                             detected: str | None) -> None:
    assert next_language("sv", message(text, detected)) == "sv"


@pytest.mark.parametrize(("text", "detected"), [
    ("Where is my order? It has been a week now.", "en"),
    ("hvor er pakken min", "nb"),
    ("我的訂單在哪裡", "zh"),
])
def test_a_full_sentence_in_another_language_switches(text: str, detected: str) -> None:
    assert next_language("sv", message(text, detected)) == detected


def test_a_sentence_in_the_same_language_keeps_it() -> None:
    assert next_language("sv", message("var är mitt paket någonstans", "sv")) == "sv"


def test_an_unset_conversation_takes_the_detection_then_the_widgets_language() -> None:
    assert next_language(None, message("var är mitt paket", "sv", page="en")) == "sv"
    assert next_language(None, message("ok", None, page="sv-SE")) == "sv"
    assert next_language(None, message("ok", None, page="zh-TW")) == "zh"
    assert next_language(None, message("ok", None, page="de-DE")) is None
    assert next_language(None, message("ok", None)) is None


@pytest.mark.parametrize(("current", "text", "detected", "page", "expected"), [
    # without å, ä, ö, æ, ø and with a weak guess, the Swedish or Norwegian context decides
    ("sv", "hur lang tid tar frakten", "nb", None, "sv"),
    ("nb", "far jag returnera en lampa", "sv", None, "nb"),
    (None, "ar det fri frakt till Norge", "nb", "sv", "sv"),
    # no Scandinavian context: the guess stands
    (None, "ar det fri frakt till Norge", "nb", None, "nb"),
    (None, "ar det fri frakt till Norge", "nb", "en", "nb"),
    ("en", "hur lang tid tar frakten", "nb", None, "nb"),
    # a confident guess, or marked letters, are not overruled
    ("sv", "hvor er pakken min", "nb", None, "nb"),
    ("nb", "får jag returnera en lampa", "sv", None, "sv"),
])
def test_swedish_or_norwegian_without_diacritics_keeps_a_scandinavian_context(
        current: str | None, text: str, detected: str, page: str | None,
        expected: str) -> None:
    assert next_language(current, message(text, detected, page=page)) == expected


def test_the_widgets_language_does_not_override_an_established_one() -> None:
    assert next_language("sv", message("ok", None, page="en")) == "sv"


def test_button_payloads_never_change_the_language() -> None:
    payload = message('/inform{"return_reason": "wrong size"}', "en", page="en")
    assert next_language("sv", payload) == "sv"
    assert next_language(None, payload) is None
    assert next_language("zh", message("/affirm", "en")) == "zh"


# --- a rating due -------------------------------------------------------------------------------


def test_a_rating_is_due_after_a_resolved_answer_until_it_is_asked() -> None:
    answered = [user_event("where is A10001", "check_order_status"),
                bot_event("utter_order_in_transit")]
    assert rating_due(answered)
    asked = [*answered, action_event("action_ask_csat"), bot_event("utter_ask_csat_rating")]
    assert not rating_due(asked)
    assert rating_due([*asked, user_event("return it", "start_return"),
                       bot_event("utter_return_started")])


@pytest.mark.parametrize("response", ["utter_order_not_found", "utter_ask_order_number",
                                      "utter_kb_answer", "utter_greet",
                                      "utter_verification_locked"])
def test_other_answers_make_no_rating_due(response: str) -> None:
    assert not rating_due([user_event("hi", "greet"), bot_event(response)])


def test_a_bot_message_without_a_response_name_makes_no_rating_due() -> None:
    assert not rating_due([{"event": "bot", "text": "Order A10001 is on its way"}])


# --- the open question --------------------------------------------------------------------------


def test_a_question_of_the_last_turn_is_open_for_the_next_message() -> None:
    events = [user_event("do you sell sofas", "out_of_scope"),
              slot_event("pending_question", "kb_helpful"), bot_event("utter_kb_helped"),
              action_event("action_listen"), user_event("yes", "affirm")]
    assert open_question(events) == "kb_helpful"


def test_a_question_is_not_open_for_a_later_message() -> None:
    events = [user_event("do you sell sofas", "out_of_scope"),
              slot_event("pending_question", "kb_helpful"), bot_event("utter_kb_helped"),
              user_event("hello", "greet"), bot_event("utter_greet"),
              user_event("yes", "affirm")]
    assert open_question(events) is None


def test_a_question_closed_in_the_last_turn_is_not_open() -> None:
    events = [slot_event("pending_question", "kb_helpful"), user_event("no", "deny"),
              slot_event("pending_question", None), bot_event("utter_kb_rephrase"),
              user_event("yes", "affirm")]
    assert open_question(events) is None
    assert open_question([user_event("yes", "affirm")]) is None


# --- the slot mapping action --------------------------------------------------------------------


async def test_track_context_sets_only_what_changed() -> None:
    history = [user_event("do you sell sofas", "out_of_scope"),
               slot_event("pending_question", "kb_helpful"), bot_event("utter_kb_helped")]
    tracker = make_tracker(text="ja, tack så mycket", intent="affirm", language="sv",
                           history=history, slots={"pending_question": "kb_helpful"})
    messages, events = await run(ActionTrackContext(), tracker)
    assert messages == []
    assert events == [SlotSet("language", "sv")]  # pending stays kb_helpful: no event


async def test_track_context_closes_an_old_question_and_sees_a_rating_due() -> None:
    history = [user_event("do you sell sofas", "out_of_scope"),
               slot_event("pending_question", "kb_helpful"), bot_event("utter_kb_helped"),
               user_event("where is my order", "check_order_status"),
               bot_event("utter_order_shipped")]
    tracker = make_tracker(text="thanks", intent="thank", language="en", history=history,
                           slots={"pending_question": "kb_helpful", "language": "sv"})
    _, events = await run(ActionTrackContext(), tracker)
    assert SlotSet("pending_question", None) in events
    assert SlotSet("csat_due", True) in events
    assert all(event["name"] != "language" for event in events)  # "thanks" does not flip it


async def test_track_context_takes_the_widgets_language_for_a_new_conversation() -> None:
    tracker = make_tracker(text="hej", intent="greet", language=None,
                           metadata={"language": "sv", "client": "c1"})
    _, events = await run(ActionTrackContext(), tracker)
    assert events == [SlotSet("language", "sv")]
