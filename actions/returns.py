"""Starting a return: verified (or in hand), only a delivered order inside the window, then its
reason (a button, or whatever the customer types); the store opens the return and a case."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    RETURN_REASON,
    SLOT_PENDING,
    ask,
    channel_of,
    conversation_language,
    customer_message_for_records,
    order_store,
    record_turn,
    store_unavailable,
)
from actions.verification import SLOT_ORDER_NUMBER, OrderTaskAction
from message_catalogue.formatting import format_date, return_window_closed
from nordvik.text import clip
from store.errors import StoreError
from store.views import OrderDetails

logger = logging.getLogger(__name__)

SLOT_RETURN_REASON = "return_reason"
MAX_REASON_CHARS = 500
OPEN_RETURN = ("requested", "received")
REPLIES = {
    "created": "utter_return_started",
    "already_open": "utter_return_already_open",
    "not_delivered": "utter_return_not_delivered",
    "window_closed": "utter_return_window_closed",
}


def given_reason(tracker: Tracker) -> str | None:
    """The reason the customer just gave: a button's value, or their own words."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == SLOT_RETURN_REASON and entity.get("value"):
            return clip(str(entity["value"]), MAX_REASON_CHARS)
    text = customer_message_for_records(tracker)
    return clip(text, MAX_REASON_CHARS) if text and not text.startswith("/") else None


def returnable(order: OrderDetails) -> bool:
    """Delivered, inside the window (its last day included) and no return open yet."""
    return (order.status == "delivered" and order.return_deadline is not None
            and not return_window_closed(order)
            and not any(ret.status in OPEN_RETURN for ret in order.returns))


class ActionStartReturn(OrderTaskAction):
    """After the return form: ask for the reason; with the reason: open the return."""

    doing = "starting a return"

    def name(self) -> str:
        return "action_start_return"

    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            order: OrderDetails) -> list[EventType]:
        done: list[EventType] = [SlotSet(SLOT_ORDER_NUMBER, None)]
        customer = order.customer_id
        answering = tracker.get_slot(SLOT_PENDING) == RETURN_REASON
        reason = given_reason(tracker) if answering else None
        if reason is None and returnable(order):
            deadline = order.return_deadline
            dispatcher.utter_message(
                response="utter_ask_return_reason", order_number=order.number,
                return_deadline=format_date(deadline, conversation_language(tracker))
                if deadline else None,
            )
            return [*done, *ask(RETURN_REASON)]
        try:
            result = order_store().start_return(
                order.number, customer_id=customer, reason=reason or "no reason given",
                conversation_id=tracker.sender_id, channel=channel_of(tracker),
            )
        except StoreError:
            return done + store_unavailable(dispatcher, self.doing)
        dispatcher.utter_message(
            response=REPLIES.get(result.outcome, "utter_anything_else"), order_number=order.number,
            return_id=result.return_id, case_id=result.case_id, days_left=result.days_left,
        )
        if result.outcome == "created":
            logger.info("return %s opened for order %s (case %s)",
                        result.return_id, order.number, result.case_id)
        record_turn(tracker, customer_id=customer, order_number=order.number,
                    answer=f"Order {order.number}: return request -> {result.outcome}"
                    + (f" (case {result.case_id})" if result.case_id else ""))
        return [*done, SlotSet(SLOT_RETURN_REASON, reason)]
