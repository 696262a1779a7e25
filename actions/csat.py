"""Customer satisfaction: decide when a rating is due, validate it, store it in the CRM."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
SKIP_INTENT = "csat_skip"
RATING_ENTITY = "csat_rating"
# Bot responses after which the customer's question counts as resolved and a rating is due.
RESOLVED_RESPONSES = frozenset({"utter_order_status", "utter_return_started"})
_RATING_TEXT = re.compile(r"^\s*([1-5])\s*(?:/\s*5|stars?|of 5)?\s*[.!]?\s*$", re.IGNORECASE)


def rating_due(events: Iterable[Mapping[str, Any]]) -> bool:
    """True when a resolved order answer or a started return came after the last CSAT question."""
    due = False
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            response = (event.get("metadata") or {}).get("utter_action")
            if response in RESOLVED_RESPONSES:
                due = True
        elif kind == "active_loop" and event.get("name") == "csat_form":
            due = False
    return due


def parse_rating(latest_message: Mapping[str, Any]) -> int | None:
    """The 1-5 rating in a button payload's entity or a typed answer ("4", "5 stars"), or None."""
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == RATING_ENTITY:
            value = str(entity.get("value", "")).strip()
            return int(value) if value in {"1", "2", "3", "4", "5"} else None
    match = _RATING_TEXT.match(str(latest_message.get("text") or ""))
    return int(match.group(1)) if match else None


def _skipped(tracker: Tracker) -> bool:
    return (tracker.latest_message.get("intent") or {}).get("name") == SKIP_INTENT


class ActionUpdateCsatDue(Action):
    """Custom slot mapping for `csat_due`, run by action_extract_slots after every message."""

    def name(self) -> str:
        return "action_update_csat_due"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        due = rating_due(tracker.events)
        if due == bool(tracker.get_slot("csat_due")):
            return []
        return [SlotSet("csat_due", due)]


class ValidateCsatForm(FormValidationAction):
    def name(self) -> str:
        return "validate_csat_form"

    def validate_csat_rating(self, slot_value: Any, dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if _skipped(tracker):
            return {"csat_rating": SKIPPED, "csat_comment": SKIPPED}
        rating = parse_rating(tracker.latest_message)
        if rating is None:
            # Not an answer to the question (the customer moved on): treat it as a skip.
            return {"csat_rating": SKIPPED, "csat_comment": SKIPPED}
        return {"csat_rating": str(rating)}

    def validate_csat_comment(self, slot_value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if _skipped(tracker):
            return {"csat_comment": SKIPPED}
        comment = str(slot_value or "").strip()[:2000]
        return {"csat_comment": comment or SKIPPED}


class ActionSubmitCsat(Action):
    """Store the rating (and comment) against the customer and the conversation."""

    def name(self) -> str:
        return "action_submit_csat"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        rating_text = tracker.get_slot("csat_rating")
        comment = tracker.get_slot("csat_comment")
        reset: list[EventType] = [SlotSet("csat_rating", None), SlotSet("csat_comment", None),
                                  SlotSet("csat_case_id", None), SlotSet("csat_due", False)]
        if rating_text in (None, SKIPPED):
            dispatcher.utter_message(response="utter_csat_skipped")
            return reset
        case_id = tracker.get_slot("csat_case_id")
        order_number = tracker.get_slot("verified_order")
        try:
            store = get_store()
            customer_id = store.customer_id_for_order(order_number) if order_number else None
            store.record_csat(
                conversation_id=tracker.sender_id, rating=int(rating_text),
                comment=None if comment in (None, SKIPPED) else str(comment),
                customer_id=customer_id, case_id=int(case_id) if case_id is not None else None,
            )
        except StoreError:
            logger.exception("CSAT rating could not be stored")
            dispatcher.utter_message(response="utter_csat_not_saved")
            return reset
        logger.info("CSAT %s recorded", rating_text)
        dispatcher.utter_message(response="utter_csat_thanks")
        return reset
