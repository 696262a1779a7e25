"""Order status: once the form has verified the order (or one is in hand), say where it stands."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import conversation_language, record_turn
from actions.verification import SLOT_ORDER_NUMBER, OrderTaskAction
from message_catalogue.orders import order_status_message, order_summary
from store.views import OrderDetails

logger = logging.getLogger(__name__)


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
