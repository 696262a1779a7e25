"""Starting a return: verify, then let the store open the return and a support case."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_text import status_text
from actions.verification import (
    SLOT_ORDER_NUMBER,
    SLOT_VERIFIED_ORDER,
    Claim,
    claimed_order,
    order_store,
    record_turn,
    store_unavailable,
    verification_failed,
)
from store.errors import StoreError

logger = logging.getLogger(__name__)

RETURN_REASON = "return requested by the customer in the chat"


class ActionStartReturn(Action):
    def name(self) -> str:
        return "action_start_return"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        claim = claimed_order(tracker, dispatcher)
        if not isinstance(claim, Claim):
            return claim
        number, email = claim.order_number, claim.email
        crm = order_store()
        try:
            order = crm.verify_order(number, email)
            if order is None:
                return verification_failed(tracker, dispatcher)
            result = crm.start_return(
                order.number, email, reason=RETURN_REASON, conversation_id=tracker.sender_id
            )
        except StoreError:
            return store_unavailable(dispatcher, "starting a return")
        details = {"order_number": order.number, "status_text": status_text(order.status)}
        if result.outcome == "created":
            dispatcher.utter_message(
                response="utter_return_started", return_id=result.return_id,
                case_id=result.case_id, days_left=result.days_left, **details,
            )
            logger.info("return %s opened for order %s (case %s)",
                        result.return_id, order.number, result.case_id)
        elif result.outcome == "already_open":
            dispatcher.utter_message(
                response="utter_return_already_open", case_id=result.case_id, **details
            )
        elif result.outcome == "not_delivered":
            dispatcher.utter_message(response="utter_return_not_delivered", **details)
        elif result.outcome == "window_closed":
            dispatcher.utter_message(response="utter_return_window_closed", **details)
        else:
            return verification_failed(tracker, dispatcher)
        record_turn(tracker, customer_id=order.customer_id, order_number=order.number,
                    answer=f"Order {order.number}: return request -> {result.outcome}"
                    + (f" (case {result.case_id})" if result.case_id else ""))
        events: list[EventType] = [
            SlotSet(SLOT_VERIFIED_ORDER, order.number),
            SlotSet(SLOT_ORDER_NUMBER, None),
        ]
        return events
