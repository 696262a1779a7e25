"""Cancelling an order: verify, check it has not shipped, ask, then cancel (idempotently)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_text import NOT_SHIPPED, items_text, status_text
from actions.verification import (
    SLOT_EMAIL,
    SLOT_ORDER_NUMBER,
    SLOT_VERIFIED_ORDER,
    Claim,
    claimed_order,
    order_store,
    record_turn,
    slot_text,
    store_unavailable,
    verification_failed,
)
from store.errors import StoreError

logger = logging.getLogger(__name__)

SLOT_AWAITING = "awaiting_cancel_confirmation"


class ActionPrepareCancel(Action):
    """After the cancel form: verify the pair and ask for confirmation if it can be cancelled."""

    def name(self) -> str:
        return "action_prepare_cancel"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        claim = claimed_order(tracker, dispatcher)
        if not isinstance(claim, Claim):
            return claim
        number, email = claim.order_number, claim.email
        try:
            order = order_store().verify_order(number, email)
        except StoreError:
            return store_unavailable(dispatcher, "preparing a cancellation")
        if order is None:
            return verification_failed(tracker, dispatcher)
        events: list[EventType] = [
            SlotSet(SLOT_VERIFIED_ORDER, order.number),
            SlotSet(SLOT_ORDER_NUMBER, None),
        ]
        details = {"order_number": order.number, "status_text": status_text(order.status)}
        if order.status in NOT_SHIPPED:
            dispatcher.utter_message(
                response="utter_confirm_cancel", items=items_text(order), **details
            )
            events.append(SlotSet(SLOT_AWAITING, True))
            answer = f"Order {order.number}: asked the customer to confirm the cancellation"
        elif order.status == "cancelled":
            dispatcher.utter_message(response="utter_order_already_cancelled", **details)
            answer = f"Order {order.number}: already cancelled"
        else:
            dispatcher.utter_message(response="utter_order_not_cancellable", **details)
            answer = f"Order {order.number}: cannot be cancelled ({order.status})"
        record_turn(tracker, customer_id=order.customer_id, order_number=order.number,
                    answer=answer)
        return events


class ActionCancelOrder(Action):
    """The customer said yes: cancel (the store verifies the pair again and is idempotent)."""

    def name(self) -> str:
        return "action_cancel_order"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        number = slot_text(tracker, SLOT_VERIFIED_ORDER)
        email = slot_text(tracker, SLOT_EMAIL)
        events: list[EventType] = [SlotSet(SLOT_AWAITING, False)]
        if not tracker.get_slot(SLOT_AWAITING) or number is None or email is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return events
        crm = order_store()
        try:
            result = crm.cancel_order(number, email)
            customer_id = crm.customer_id_for_order(number)
        except StoreError:
            return events + store_unavailable(dispatcher, "cancelling an order")
        details = {"order_number": number, "status_text": status_text(result.order_status or "")}
        if result.outcome == "cancelled":
            dispatcher.utter_message(response="utter_order_cancelled", **details)
        elif result.outcome == "already_cancelled":
            dispatcher.utter_message(response="utter_order_already_cancelled", **details)
        elif result.outcome == "not_cancellable":
            dispatcher.utter_message(response="utter_order_not_cancellable", **details)
        else:
            return events + verification_failed(tracker, dispatcher)
        if customer_id is not None:
            record_turn(tracker, customer_id=customer_id, order_number=number,
                        answer=f"Order {number}: cancel request -> {result.outcome}")
        return events


class ActionKeepOrder(Action):
    """The customer said no: leave the order as it is."""

    def name(self) -> str:
        return "action_keep_order"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        number = slot_text(tracker, SLOT_VERIFIED_ORDER) or "your order"
        dispatcher.utter_message(response="utter_cancel_kept", order_number=number)
        return [SlotSet(SLOT_AWAITING, False)]
