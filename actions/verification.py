"""What every order action shares: the store, slot reading, failed verifications, CRM history.

A wrong order-number/e-mail pair gets the same reply whether the order exists or not. After
MAX_FAILED_VERIFICATIONS failures in one conversation the bot stops looking up orders and offers a
person. Nothing here logs an e-mail address or what the customer typed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import store
from nordvik.emails import redact_emails
from store.errors import StoreError
from store.repository import OrderStore

logger = logging.getLogger(__name__)

MAX_FAILED_VERIFICATIONS = 3
CHANNEL = "chat"
MAX_INPUT_CHARS = 2000

SLOT_ORDER_NUMBER = "order_number"
SLOT_EMAIL = "email"
SLOT_VERIFIED_ORDER = "verified_order"
SLOT_FAILED = "failed_verifications"
SLOT_LOCKED = "verification_locked"


def order_store() -> OrderStore:
    """The process-wide store, built lazily from DATABASE_URL."""
    return store.get_store()


def slot_text(tracker: Tracker, name: str) -> str | None:
    """A slot as text: the first value of a list, None for empty or non-text values."""
    value: Any = tracker.get_slot(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text[:MAX_INPUT_CHARS] or None


def redact(text: str) -> str:
    """The customer's message for the CRM history, with e-mail addresses removed."""
    return redact_emails(text)


def is_locked(tracker: Tracker) -> bool:
    return bool(tracker.get_slot(SLOT_LOCKED))


def failed_count(tracker: Tracker) -> int:
    value = tracker.get_slot(SLOT_FAILED)
    try:
        return int(float(value)) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def locked_reply(dispatcher: CollectingDispatcher) -> list[EventType]:
    dispatcher.utter_message(response="utter_verification_locked")
    dispatcher.utter_message(response="utter_offer_human")
    return [SlotSet(SLOT_ORDER_NUMBER, None), SlotSet(SLOT_EMAIL, None)]


def verification_failed(tracker: Tracker, dispatcher: CollectingDispatcher) -> list[EventType]:
    """The one reply for a wrong pair or an unknown order; lock after the third failure."""
    count = failed_count(tracker) + 1
    logger.info(
        "order verification failed (%d of %d) in conversation %s",
        count, MAX_FAILED_VERIFICATIONS, tracker.sender_id,
    )
    dispatcher.utter_message(response="utter_order_not_found")
    events: list[EventType] = [
        SlotSet(SLOT_FAILED, float(count)),
        SlotSet(SLOT_ORDER_NUMBER, None),
        SlotSet(SLOT_EMAIL, None),
    ]
    if count >= MAX_FAILED_VERIFICATIONS:
        logger.warning(
            "conversation %s: %d failed verifications, order look-ups stopped",
            tracker.sender_id, count,
        )
        dispatcher.utter_message(response="utter_verification_locked")
        dispatcher.utter_message(response="utter_offer_human")
        events.append(SlotSet(SLOT_LOCKED, True))
    return events


@dataclass(frozen=True)
class Claim:
    """The order number and e-mail a customer gave, not yet checked against the store."""

    order_number: str
    email: str


def claimed_order(tracker: Tracker, dispatcher: CollectingDispatcher) -> Claim | list[EventType]:
    """The claim to verify, or the events that end the turn: the lock reply after three failed
    verifications, or a failed verification when the number or the e-mail is missing."""
    if is_locked(tracker):
        return locked_reply(dispatcher)
    number = slot_text(tracker, SLOT_ORDER_NUMBER)
    email = slot_text(tracker, SLOT_EMAIL)
    if number is None or email is None:
        return verification_failed(tracker, dispatcher)
    return Claim(number, email)


def store_unavailable(dispatcher: CollectingDispatcher, what: str) -> list[EventType]:
    logger.exception("order store unavailable while %s", what)
    dispatcher.utter_message(response="utter_store_unavailable")
    return []


def latest_customer_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return redact(str(text))


def record_turn(
    tracker: Tracker, *, customer_id: int, order_number: str, answer: str
) -> None:
    """The customer's message and the bot's answer, in the customer's CRM history."""
    crm = order_store()
    try:
        question = latest_customer_text(tracker)
        if question:
            crm.record_interaction(
                conversation_id=tracker.sender_id, channel=CHANNEL, direction="in",
                text=question, customer_id=customer_id, order_number=order_number,
            )
        crm.record_interaction(
            conversation_id=tracker.sender_id, channel=CHANNEL, direction="out",
            text=answer, customer_id=customer_id, order_number=order_number,
        )
    except StoreError:
        logger.exception("could not record the interaction of conversation %s", tracker.sender_id)
