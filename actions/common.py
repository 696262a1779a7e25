"""What every action shares: the conversation's language, the latest message, the channel, the
store, the CRM history and the bot's last question.

Actions hold no customer-facing sentences: they utter catalogue responses by name with
parameters (domain/*.yml, message_catalogue/).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import store
from nordvik.emails import redact_emails
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES
from nordvik.text import clip
from store.errors import StoreError
from store.repository import OrderStore

logger = logging.getLogger(__name__)

MAX_INPUT_CHARS = 2000
SLOT_LANGUAGE = "language"
SLOT_PENDING = "pending_question"
SLOT_OFFER_REASON = "human_offer_reason"
# The bot's open questions (slot pending_question), answered by the customer's next message.
CANCEL_CONFIRMATION = "cancel_confirmation"
RETURN_REASON = "return_reason"
CSAT_RATING = "csat_rating"
CSAT_COMMENT = "csat_comment"
KB_HELPFUL = "kb_helpful"
KB_REPHRASE = "kb_rephrase"
CLARIFY = "clarify"
HUMAN_OFFER = "human_offer"
# Input channels whose conversations are e-mail threads; everything else is the chat.
EMAIL_CHANNELS = frozenset({"email"})
# Messaging apps (messaging/): their conversations and CRM records carry the app's name.
MESSAGING_CHANNELS = frozenset({"whatsapp", "messenger", "line"})


def order_store() -> OrderStore:
    """The process-wide store, built lazily from DATABASE_URL."""
    return store.get_store()


def conversation_language(tracker: Tracker) -> str:
    """The conversation's language (slot `language`, kept by actions/context.py); English until
    one is known."""
    value = tracker.get_slot(SLOT_LANGUAGE)
    return str(value) if value in LANGUAGES else DEFAULT_LANGUAGE


def latest_intent(tracker: Tracker) -> str:
    return str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()[:MAX_INPUT_CHARS]


def channel_of(tracker: Tracker) -> str:
    """"email" for an e-mail thread, "phone" for a call, "chat" for the widget and REST."""
    name = str(tracker.get_latest_input_channel() or "")
    if name == "phone" or name in MESSAGING_CHANNELS:
        return name
    return "email" if name in EMAIL_CHANNELS else "chat"


def slot_text(tracker: Tracker, name: str) -> str | None:
    """A slot as text: the first value of a list, None for empty or non-text values."""
    value: Any = tracker.get_slot(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text[:MAX_INPUT_CHARS] or None


def slot_int(tracker: Tracker, name: str) -> int | None:
    value = tracker.get_slot(name)
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def store_unavailable(dispatcher: CollectingDispatcher, what: str) -> list[EventType]:
    logger.exception("order store unavailable while %s", what)
    dispatcher.utter_message(response="utter_store_unavailable")
    return []


def customer_message_for_records(tracker: Tracker) -> str:
    """The customer's latest message for the CRM history: e-mail addresses removed, capped.
    Addresses are removed before the cut, so that an address the cut splits leaves no piece."""
    text = str((tracker.latest_message or {}).get("text") or "").strip()
    return clip(redact_emails(text[: 2 * MAX_INPUT_CHARS]), MAX_INPUT_CHARS)


def record_turn(tracker: Tracker, *, customer_id: int, order_number: str, answer: str) -> None:
    """The customer's message and what the bot did, in the customer's CRM history."""
    crm = order_store()
    channel = channel_of(tracker)
    try:
        question = customer_message_for_records(tracker)
        if question:
            crm.record_interaction(
                conversation_id=tracker.sender_id, channel=channel, direction="in",
                text=question, customer_id=customer_id, order_number=order_number,
            )
        crm.record_interaction(
            conversation_id=tracker.sender_id, channel=channel, direction="out",
            text=answer, customer_id=customer_id, order_number=order_number,
        )
    except StoreError:
        logger.exception("could not record the interaction of conversation %s", tracker.sender_id)


def ask(question: str | None, *, reason: str | None = None) -> list[EventType]:
    """The events that open (or close, with None) the bot's pending question."""
    events: list[EventType] = [SlotSet(SLOT_PENDING, question)]
    if question == HUMAN_OFFER:
        events.append(SlotSet(SLOT_OFFER_REASON, reason))
    return events


def offer_human(dispatcher: CollectingDispatcher, reason: str) -> list[EventType]:
    """Offer a colleague (yes/no buttons); the customer's "yes" hands off with `reason`."""
    dispatcher.utter_message(response="utter_offer_human")
    return ask(HUMAN_OFFER, reason=reason)


def user_events_since(events: list[Mapping[str, Any]], index: int) -> int:
    return sum(1 for event in events[index + 1:] if event.get("event") == "user")


def actions_this_turn(tracker: Tracker) -> list[str]:
    """The actions run since the customer's latest message (oldest first)."""
    names: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name"):
            names.append(str(event["name"]))
    return list(reversed(names))
