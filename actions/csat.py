"""Customer satisfaction: validate a 1-5 rating (buttons or typed, in any of the four
languages: nordvik.ratings reads it), store it in the CRM; and answers to "yes", "no" or a
rating when nothing was asked. When a rating is due is decided by action_track_context in
actions/common.py (slot csat_due)."""

from __future__ import annotations

import logging
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
from nordvik.ratings import parse_rating
from nordvik.text import clip
from store.errors import StoreError

logger = logging.getLogger(__name__)

SKIP_INTENT = "csat_skip"
MAX_COMMENT_CHARS = 2000


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
        # the case the rating follows: the one an agent closed in Slack (csat_case_id), else
        # the handoff still in hand, as after a phone call's answered transfer
        case_id = slot_int(tracker, "csat_case_id") or slot_int(tracker, "handoff_case_id")
        try:
            order_store().record_csat(conversation_id=tracker.sender_id, rating=rating,
                                      customer_id=slot_int(tracker, "verified_customer"),
                                      case_id=case_id)
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
