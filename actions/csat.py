"""Customer satisfaction: validate a 1-5 rating (buttons or typed, in any of the four
languages), store it in the CRM; and answers to "yes", "no" or a rating when nothing was asked.
When a rating is due is decided by actions/context.py (slot csat_due)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    CSAT_COMMENT,
    CSAT_RATING,
    ask,
    channel_of,
    customer_message_for_records,
    latest_intent,
    order_store,
    slot_int,
)
from nordvik.text import clip, normalize
from store.errors import StoreError

logger = logging.getLogger(__name__)

SKIP_INTENT = "csat_skip"
RATING_ENTITY = "csat_rating"
MAX_COMMENT_CHARS = 2000
# Ratings typed as words ("five", "fem", "五"), in the four languages.
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "en": 1, "ett": 1, "två": 2, "tre": 3, "fyra": 4, "fem": 5,
    "ei": 1, "to": 2, "fire": 4,
    "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5,
}
_DIGIT = re.compile(r"(?<![0-9])([1-5])(?![0-9])")
_OUT_OF_FIVE = re.compile(r"\s*/\s*5(?![0-9])")
_WORD = re.compile(r"[a-zåäöæø]+|[一二兩两三四五]", re.IGNORECASE)


def parse_rating(latest_message: Mapping[str, Any]) -> int | None:
    """The 1-5 rating in a button payload's entity or a short typed answer ("4", "5 stars",
    "fyra", "五顆星"), or None."""
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == RATING_ENTITY:
            value = str(entity.get("value", "")).strip()
            return int(value) if value in {"1", "2", "3", "4", "5"} else None
    text = normalize(str(latest_message.get("text") or "")).strip().lower()
    if not text or len(text) > 40 or text.startswith("/"):
        return None
    scored = _OUT_OF_FIVE.sub("", text)  # "4/5", "3 / 5": the 5 is the scale, not a rating
    digits = _DIGIT.findall(scored)
    if len(set(digits)) == 1 and not re.search(r"[0-9]{2,}|[6-9]", scored):
        return int(digits[0])
    if digits or len(text.split()) > 2:  # a number word only in a short answer: "fem stjärnor"
        return None
    words = {_NUMBER_WORDS[w] for w in _WORD.findall(text) if w in _NUMBER_WORDS}
    return words.pop() if len(words) == 1 else None


class ActionAskCsat(Action):
    """Ask for a 1-5 rating (buttons; typed works too)."""

    def name(self) -> str:
        return "action_ask_csat"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_csat_rating")
        return ask(CSAT_RATING)


class ActionSubmitCsat(Action):
    """The answer to the rating question: store the rating and ask for a comment
    (action_ask_csat_comment follows), say it was skipped, or say what a rating looks like."""

    def name(self) -> str:
        return "action_submit_csat"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        done: list[EventType] = [SlotSet("csat_due", False), SlotSet("csat_case_id", None)]
        skipped = latest_intent(tracker) in (SKIP_INTENT, "deny")
        if skipped:
            dispatcher.utter_message(response="utter_csat_skipped")
            return done
        rating = parse_rating(tracker.latest_message or {})
        if rating is None:
            # Not a rating we can read ("10/10"): say what is needed; the question stays open
            # for this one answer, and anything else moves on.
            dispatcher.utter_message(response="utter_csat_rating_invalid")
            return []
        try:
            order_store().record_csat(conversation_id=tracker.sender_id, rating=rating,
                                      customer_id=slot_int(tracker, "verified_customer"),
                                      case_id=slot_int(tracker, "csat_case_id"))
        except StoreError:
            logger.exception("CSAT rating could not be stored")
            dispatcher.utter_message(response="utter_csat_not_saved")
            return done
        logger.info("CSAT %s recorded (%s)", rating, channel_of(tracker))
        return [*done, FollowupAction("action_ask_csat_comment")]


class ActionAskCsatComment(Action):
    """Anything the customer would like to tell us (optional)."""

    def name(self) -> str:
        return "action_ask_csat_comment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_ask_csat_comment")
        return ask(CSAT_COMMENT)


class ActionCsatComment(Action):
    """The answer to "anything you'd like to tell us?": added to the rating, or skipped."""

    def name(self) -> str:
        return "action_csat_comment"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        skipped = latest_intent(tracker) in (SKIP_INTENT, "deny")
        comment = "" if skipped else clip(customer_message_for_records(tracker), MAX_COMMENT_CHARS)
        if comment and not comment.startswith("/"):
            try:
                order_store().add_csat_comment(conversation_id=tracker.sender_id, comment=comment)
            except StoreError:
                logger.exception("CSAT comment could not be stored")
        dispatcher.utter_message(response="utter_csat_thanks")
        return []


class ActionOutOfContext(Action):
    """"yes", "no", a rating or a skip when the bot asked nothing: one sensible reply."""

    REPLIES = {
        "affirm": "utter_out_of_context_affirm",
        "deny": "utter_out_of_context_deny",
        "csat_rating": "utter_out_of_context_rating",
        "csat_skip": "utter_out_of_context_deny",
    }

    def name(self) -> str:
        return "action_out_of_context"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        response = self.REPLIES.get(latest_intent(tracker), "utter_anything_else")
        dispatcher.utter_message(response=response)
        return []
