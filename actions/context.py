"""The conversation's context, kept up to date after every customer message.

`action_track_context` is the custom slot mapping of `language`, `csat_due` and
`pending_question` (domain/core.yml, domain/csat.yml): Rasa's action_extract_slots runs it before
the bot decides what to do, so every reply of the turn sees the new values. The project's Rasa
launcher runs it inside the Rasa server, not over HTTP (runtime/rasa_speedups.LOCAL_ACTIONS), so
it must stay a function of the tracker alone: no network or database calls, nothing kept
between calls, no settings (the language detector it may consult is loaded once, read-only).

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

import re
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SLOT_LANGUAGE, SLOT_PENDING
from nordvik.emails import redact_emails
from nordvik.languages import (
    LANGUAGES,
    SCANDINAVIAN,
    normalize_language,
    unsure_between_scandinavian,
)
from nordvik.orders import find_order_number

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
