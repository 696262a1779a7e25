"""Cancelling an order: verified (or in hand), only before it ships, only after a "yes"."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CANCEL_CONFIRMATION,
    ask,
    conversation_language,
    order_store,
    record_turn,
    slot_int,
    slot_text,
    store_unavailable,
)
from actions.verification import (
    SLOT_ORDER_NUMBER,
    SLOT_VERIFIED_CUSTOMER,
    SLOT_VERIFIED_ORDER,
    OrderTaskAction,
)
from message_catalogue.formatting import NOT_SHIPPED, ON_THE_WAY, items_text
from store.errors import StoreError
from store.views import OrderDetails

logger = logging.getLogger(__name__)


class ActionPrepareCancel(OrderTaskAction):
    """After the cancel form: ask for confirmation if the order can still be cancelled."""

    doing = "preparing a cancellation"

    def name(self) -> str:
        return "action_prepare_cancel"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            order: OrderDetails) -> list[EventType]:
        events: list[EventType] = [SlotSet(SLOT_ORDER_NUMBER, None)]
        details = {"order_number": order.number}
        if order.status in NOT_SHIPPED:
            dispatcher.utter_message(
                response="utter_confirm_cancel",
                items=items_text(order.lines, conversation_language(tracker)), **details,
            )
            events += ask(CANCEL_CONFIRMATION)
            answer = f"Order {order.number}: asked the customer to confirm the cancellation"
        elif order.status == "cancelled":
            dispatcher.utter_message(response="utter_order_already_cancelled", **details)
            answer = f"Order {order.number}: already cancelled"
        elif order.status in ON_THE_WAY:
            dispatcher.utter_message(response="utter_order_not_cancellable", **details)
            answer = f"Order {order.number}: cannot be cancelled ({order.status})"
        else:
            dispatcher.utter_message(response="utter_order_not_cancellable_finished", **details)
            answer = f"Order {order.number}: nothing to cancel ({order.status})"
        record_turn(tracker, customer_id=order.customer_id, order_number=order.number,
                    answer=answer)
        return events


class ActionCancelOrder(Action):
    """The customer confirmed: cancel the order in hand (the store checks ownership again)."""

    def name(self) -> str:
        return "action_cancel_order"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[dict[str, Any]]:
        number = slot_text(tracker, SLOT_VERIFIED_ORDER)
        customer = slot_int(tracker, SLOT_VERIFIED_CUSTOMER)
        events: list[EventType] = []  # the answered question closes by itself at the next message
        if number is None or customer is None:
            dispatcher.utter_message(response="utter_anything_else")
            return events
        try:
            result = order_store().cancel_order(number, customer_id=customer)
        except StoreError:
            return events + store_unavailable(dispatcher, "cancelling an order")
        replies = {
            "cancelled": "utter_order_cancelled",
            "already_cancelled": "utter_order_already_cancelled",
            "not_cancellable": "utter_order_not_cancellable",
        }
        dispatcher.utter_message(response=replies.get(result.outcome, "utter_anything_else"),
                                 order_number=number)
        record_turn(tracker, customer_id=customer, order_number=number,
                    answer=f"Order {number}: cancel request -> {result.outcome}")
        return events


class ActionKeepOrder(Action):
    """The customer said no: leave the order as it is."""

    def name(self) -> str:
        return "action_keep_order"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_cancel_kept",
                                 order_number=slot_text(tracker, SLOT_VERIFIED_ORDER))
        return []
