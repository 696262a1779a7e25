"""Order status: once the form has verified the order (or one is in hand), say where it stands."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import conversation_language, record_turn, store_unavailable
from actions.verification import (
    SLOT_ORDER_NUMBER,
    is_locked,
    load_order_in_hand,
    locked_reply,
)
from catalogue.orders import order_status_message, order_summary
from store.errors import StoreError

logger = logging.getLogger(__name__)


class ActionCheckOrderStatus(Action):
    def name(self) -> str:
        return "action_check_order_status"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[dict[str, Any]]:
        if is_locked(tracker):
            return locked_reply(dispatcher)
        try:
            order = load_order_in_hand(tracker)
        except StoreError:
            return store_unavailable(dispatcher, "checking an order's status")
        done: list[EventType] = [SlotSet(SLOT_ORDER_NUMBER, None)]
        if order is None:
            # The form ended without a verified order (the store stopped answering mid-way).
            dispatcher.utter_message(response="utter_anything_else")
            return done
        response, params = order_status_message(order, conversation_language(tracker))
        dispatcher.utter_message(response=response, **params)
        record_turn(tracker, customer_id=order.customer_id, order_number=order.number,
                    answer=order_summary(order))
        return done
