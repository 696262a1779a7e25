"""Verify-then-act: the order-number/e-mail check every order task shares, the order in hand,
and the order-status task (ActionCheckOrderStatus: once the form has verified the order, or one
is in hand, say where it stands).

A pair is checked when the order form has both (actions/forms.py); the e-mail is never kept
after the check. A wrong e-mail and an unknown order get the same reply. Failures count in the
conversation (MAX_FAILED_VERIFICATIONS, then locked) and, through the store, across
conversations per order number and per client (store.verification_blocked): a locked order or
client gets the "locked" reply and a person is offered. Once verified, the order stays in hand
(verified_order, verified_customer): "can I cancel it?" acts on it without asking again, and a
different order number always asks for that order's own e-mail.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    SLOT_LANGUAGE,
    conversation_language,
    offer_human,
    order_store,
    record_turn,
    slot_int,
    slot_text,
    store_unavailable,
)
from message_catalogue.formatting import order_status_message, order_summary
from nordvik.languages import LANGUAGES, normalize_language
from nordvik.orders import canonical_order_number
from nordvik.phones import normalize_phone
from nordvik.secrets import unseal
from store.errors import StoreError
from store.views import OrderDetails

logger = logging.getLogger(__name__)

MAX_FAILED_VERIFICATIONS = 3
SLOT_ORDER_NUMBER = "order_number"
SLOT_EMAIL = "email"
SLOT_VERIFIED_ORDER = "verified_order"
SLOT_VERIFIED_CUSTOMER = "verified_customer"
SLOT_FAILED = "failed_verifications"
SLOT_LOCKED = "verification_locked"
OFFER_REASON_LOCKED = "verification_locked"
# Input channels whose message metadata `phone` is a number the channel itself proved (the
# phone channel's caller ID from a signed Twilio request; a messaging app's sender). A channel
# opts in here; on any other channel the key is ignored.
PHONE_PROVING_CHANNELS = frozenset({"phone", "whatsapp"})
# The number may come sealed for this purpose (the messaging channels keep it sealed at rest).
PHONE_PURPOSE = "phone"


def client_of(tracker: Tracker) -> str | None:
    """The pseudonymous client key the customer channel put in the message's metadata."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    value = metadata.get("client") if isinstance(metadata, dict) else None
    return str(value)[:64] if value else None


def channel_phone(tracker: Tracker) -> str | None:
    """The customer's phone number (E.164) as the channel proved it, else None (withheld, or a
    channel that proves no number)."""
    if str(tracker.get_latest_input_channel() or "") not in PHONE_PROVING_CHANNELS:
        return None
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    value = metadata.get("phone") if isinstance(metadata, dict) else None
    return normalize_phone(unseal(value, purpose=PHONE_PURPOSE) or value, region=None)


def check_channel_phone(tracker: Tracker, number: str) -> Check | None:
    """The order verified by the channel-proven phone (the number is the order customer's):
    the order number alone proves ownership then. None when it is not the customer's number
    (not a failed guess: the caller is asked for a second factor). StoreError propagates."""
    phone = channel_phone(tracker)
    if phone is None or not order_store().order_phone_matches(number, phone):
        return None
    order = order_store().get_order(number)
    return None if order is None else Check(verified_slots(tracker, order), order)


def check_postcode(tracker: Tracker, dispatcher: CollectingDispatcher, number: str,
                   postcode: object) -> Check:
    """The second factor of channels without the order's e-mail (the phone): the delivery
    postcode, with the same failure counts and limits as the e-mail check."""

    def matching(crm: Any) -> OrderDetails | None:
        return crm.get_order(number) if crm.order_postcode_matches(number, postcode) else None

    return _check(tracker, dispatcher, number, matching)


def failed_count(tracker: Tracker) -> int:
    return slot_int(tracker, SLOT_FAILED) or 0


def is_locked(tracker: Tracker) -> bool:
    return bool(tracker.get_slot(SLOT_LOCKED))


@dataclass(frozen=True)
class Check:
    """What a pair check decided: the slots to set, and the order when it was verified."""

    slots: dict[str, Any]
    order: OrderDetails | None = None


def check_pair(
    tracker: Tracker, dispatcher: CollectingDispatcher, number: str, email: str
) -> Check:
    """Check the pair against the store; utter the failure reply when it does not match."""
    return _check(tracker, dispatcher, number, lambda crm: crm.verify_order(number, email))


def _check(tracker: Tracker, dispatcher: CollectingDispatcher, number: str,
           matching: Callable[[Any], OrderDetails | None]) -> Check:
    """One ownership check (`matching(store)` gives the order when the proof holds), counted
    against the conversation, the order and the client when it fails."""
    crm = order_store()
    client = client_of(tracker)
    try:
        if crm.verification_blocked(order_number=number, client=client):
            logger.warning("order look-up blocked by the cross-conversation limits in %s",
                           tracker.sender_id)
            return Check({SLOT_EMAIL: None, SLOT_LOCKED: True})
        order = matching(crm)
        if order is None:
            crm.record_failed_verification(order_number=number, client=client,
                                           conversation_id=tracker.sender_id)
    except StoreError:
        logger.exception("order store unavailable while checking an order")
        dispatcher.utter_message(response="utter_store_unavailable")
        return Check({SLOT_EMAIL: None, SLOT_ORDER_NUMBER: None})
    if order is None:
        count = failed_count(tracker) + 1
        logger.info("order verification failed (%d of %d) in conversation %s",
                    count, MAX_FAILED_VERIFICATIONS, tracker.sender_id)
        slots: dict[str, Any] = {SLOT_EMAIL: None, SLOT_FAILED: float(count)}
        if count >= MAX_FAILED_VERIFICATIONS:
            slots[SLOT_LOCKED] = True
        else:
            dispatcher.utter_message(response="utter_order_not_found", order_number=number)
        return Check(slots)
    return Check(verified_slots(tracker, order), order)


def verified_slots(tracker: Tracker, order: OrderDetails) -> dict[str, Any]:
    """The slots of an order verified in this conversation (never the e-mail)."""
    slots: dict[str, Any] = {
        SLOT_EMAIL: None,
        SLOT_ORDER_NUMBER: order.number,
        SLOT_VERIFIED_ORDER: order.number,
        SLOT_VERIFIED_CUSTOMER: float(order.customer_id),
    }
    if tracker.get_slot(SLOT_LANGUAGE) not in LANGUAGES:
        # Nothing the customer wrote told the language yet: the store knows theirs.
        hint = normalize_language(order.customer_language)
        if hint is not None:
            slots[SLOT_LANGUAGE] = hint
    return slots


def order_in_hand(tracker: Tracker) -> str | None:
    """The order this task is about once verified: the order number asked about if it is the
    verified one, or the verified order when no other number was given; None otherwise."""
    verified = slot_text(tracker, SLOT_VERIFIED_ORDER)
    asked = canonical_order_number(slot_text(tracker, SLOT_ORDER_NUMBER))
    if verified is None or (asked is not None and asked != verified):
        return None
    return verified


def load_order_in_hand(tracker: Tracker) -> OrderDetails | None:
    """The verified order, re-read from the store (its status may have changed); None when the
    store no longer has it for the verified customer. StoreError propagates."""
    number = order_in_hand(tracker)
    customer = slot_int(tracker, SLOT_VERIFIED_CUSTOMER)
    if number is None or customer is None:
        return None
    order = order_store().get_order(number)
    return order if order is not None and order.customer_id == customer else None


def locked_reply(dispatcher: CollectingDispatcher) -> list[EventType]:
    """No more look-ups here: say so and offer a person."""
    dispatcher.utter_message(response="utter_verification_locked")
    return [SlotSet(SLOT_ORDER_NUMBER, None), SlotSet(SLOT_EMAIL, None),
            *offer_human(dispatcher, OFFER_REASON_LOCKED)]


class OrderTaskAction(Action, ABC):
    """Verify-then-act, what every order task shares after its form: a locked conversation gets
    the lock reply; otherwise the order in hand is re-read from the store and `act` runs on it.
    A store that does not answer gets the polite "try again" reply."""

    #: what the task does, for the log line when the store is unavailable
    doing = "acting on an order"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        if is_locked(tracker):
            return locked_reply(dispatcher)
        try:
            order = load_order_in_hand(tracker)
        except StoreError:
            return store_unavailable(dispatcher, self.doing)
        if order is None:
            # The form ended without a verified order (the store stopped answering mid-way).
            dispatcher.utter_message(response="utter_anything_else")
            return [SlotSet(SLOT_ORDER_NUMBER, None)]
        return self.act(dispatcher, tracker, order)

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            order: OrderDetails) -> list[EventType]:
        """The task itself, on the verified order."""


# --- Order status: say where the verified order stands ---


class ActionCheckOrderStatus(OrderTaskAction):
    doing = "checking an order's status"

    def name(self) -> str:
        return "action_check_order_status"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            order: OrderDetails) -> list[EventType]:
        response, params = order_status_message(order, conversation_language(tracker))
        dispatcher.utter_message(response=response, **params)
        record_turn(tracker, customer_id=order.customer_id, order_number=order.number,
                    answer=order_summary(order))
        return [SlotSet(SLOT_ORDER_NUMBER, None)]
