"""What every action shares, and the conversation's context kept up to date after every
customer message.

Shared: the conversation's language, the latest message, the channel, the store, the CRM history
and the bot's last question. Actions hold no customer-facing sentences: they utter catalogue
responses by name with parameters (domain/*.yml, message_catalogue/).

The context: `action_track_context` (ActionTrackContext, at the end of this module) is the custom
slot mapping of `language`, `csat_due` and `pending_question` (domain/core.yml, domain/csat.yml):
Rasa's action_extract_slots runs it before the bot decides what to do, so every reply of the turn
sees the new values. The project's Rasa launcher runs it inside the Rasa server, not over HTTP
(runtime/rasa_speedups.LOCAL_ACTIONS), so it must stay a function of the tracker alone: no
network or database calls, nothing kept between calls, no settings (the language detector it may
consult is loaded once, read-only).

- language: the NLU's detection of this message (parse_data["language"], None when the message is
  too short to tell), else the widget's page language (message metadata), else unchanged. It is
  sticky: a short message ("ok", "tracking?", an order number, an e-mail address) never changes
  a language already set; it takes a message of at least MIN_WORDS_TO_SWITCH words (or
  MIN_HAN_TO_SWITCH Chinese characters) in another language. Swedish or Norwegian typed without
  å, ä, ö, æ and ø, detected with little confidence (nordvik.languages.
  unsure_between_scandinavian), does not overrule a Swedish or Norwegian conversation or page.
- csat_due: an order question was answered or a return started since the last rating question.
- pending_question: the question the bot asked in its last turn stays open for exactly one
  customer message; a later "yes" is not taken for it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

import store
from nordvik.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    SCANDINAVIAN,
    normalize_language,
    unsure_between_scandinavian,
)
from nordvik.orders import find_order_number
from nordvik.text import clip, redact_emails
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
    """The conversation's language (slot `language`, kept by ActionTrackContext below); English
    until one is known."""
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


# --- The conversation's context (action_track_context), after every customer message ---

MIN_WORDS_TO_SWITCH = 3
MIN_HAN_TO_SWITCH = 2
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Bot responses after which the customer's question counts as resolved and a rating is due.
RESOLVED_RESPONSES = frozenset({
    "utter_order_pending", "utter_order_paid", "utter_order_packed", "utter_order_shipped",
    "utter_order_in_transit", "utter_order_delayed", "utter_order_delivered",
    "utter_order_delivered_return_closed", "utter_order_cancelled_status", "utter_order_returned",
    "utter_order_refunded", "utter_order_cancelled", "utter_return_started",
})
ASK_CSAT = "action_ask_csat"


def _substantial(text: str) -> bool:
    """Long enough to switch an established language. Order numbers, e-mail addresses and
    tokens without letters are not words: "A10001 anna@example.com thanks" is one word."""
    if len(_HAN.findall(text)) >= MIN_HAN_TO_SWITCH:
        return True
    words = [token for token in redact_emails(text, placeholder=" ").split()
             if any(char.isalpha() for char in token) and find_order_number(token) is None]
    return len(words) >= MIN_WORDS_TO_SWITCH


def next_language(current: str | None, message: Mapping[str, Any]) -> str | None:
    """The conversation's language after `message` (a tracker's latest_message)."""
    text = str(message.get("text") or "")
    if text.startswith("/"):  # a button payload says nothing about the customer's language
        return current
    detected = normalize_language(message.get("language"))
    metadata = message.get("metadata") or {}
    page = normalize_language(metadata.get("language")) if isinstance(metadata, Mapping) else None
    context = current if current in LANGUAGES else page
    if (detected != context and context in SCANDINAVIAN
            and unsure_between_scandinavian(text, detected)):
        return context  # Swedish or Norwegian without å, ä, ö, æ, ø: the context decides
    if current not in LANGUAGES:
        return detected or page
    if detected and detected != current and _substantial(text):
        return detected
    return current


def rating_due(events: Iterable[Mapping[str, Any]]) -> bool:
    """True when a resolved order answer or a started return came after the last CSAT question."""
    due = False
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            response = (event.get("metadata") or {}).get("utter_action")
            if response in RESOLVED_RESPONSES:
                due = True
        elif kind == "action" and event.get("name") == ASK_CSAT:
            due = False
    return due


def open_question(events: list[Mapping[str, Any]]) -> str | None:
    """The bot's pending question if it was asked in the turn just before the latest message."""
    users_after = 0
    for event in reversed(events):
        if event.get("event") == "user":
            users_after += 1
            if users_after > 1:
                return None
        elif event.get("event") == "slot" and event.get("name") == SLOT_PENDING:
            value = event.get("value")
            return str(value) if value is not None and users_after == 1 else None
    return None


class ActionTrackContext(Action):
    """Custom slot mapping for language, csat_due and pending_question (every message)."""

    def name(self) -> str:
        return "action_track_context"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        current = tracker.get_slot(SLOT_LANGUAGE)
        values = {
            SLOT_LANGUAGE: next_language(current, tracker.latest_message or {}),
            "csat_due": rating_due(tracker.events),
            SLOT_PENDING: open_question(list(tracker.events)),
        }
        return [SlotSet(name, value) for name, value in values.items()
                if value != tracker.get_slot(name)]
