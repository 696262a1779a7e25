"""Order status: verify the order number + e-mail pair, then tell the customer everything."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.order_text import NOT_SHIPPED, eta_text, fmt_date, items_text, status_summary
from actions.order_text import status_text as describe_status
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
from store.views import OrderDetails

logger = logging.getLogger(__name__)


def utter_order(dispatcher: CollectingDispatcher, order: OrderDetails) -> None:
    """Status, items, carrier, tracking number and link, ETA, and the status explanation."""
    dispatcher.utter_message(
        response="utter_order_status",
        order_number=order.number,
        status_text=describe_status(order.status),
        placed_on=fmt_date(order.placed_at),
        items=items_text(order),
    )
    if order.shipment is not None:
        dispatcher.utter_message(
            response="utter_order_shipment",
            carrier=order.shipment.carrier,
            tracking_number=order.shipment.tracking_number,
            tracking_url=order.shipment.tracking_url,
            eta=eta_text(order),
        )
    elif order.status in NOT_SHIPPED:
        dispatcher.utter_message(response="utter_order_not_shipped_yet", eta=eta_text(order))


class ActionCheckOrderStatus(Action):
    def name(self) -> str:
        return "action_check_order_status"

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
            return store_unavailable(dispatcher, "checking an order's status")
        if order is None:
            return verification_failed(tracker, dispatcher)
        utter_order(dispatcher, order)
        record_turn(
            tracker, customer_id=order.customer_id, order_number=order.number,
            answer=status_summary(order),
        )
        # Ready for a second order: forget the number, keep the verified e-mail.
        events: list[EventType] = [
            SlotSet(SLOT_VERIFIED_ORDER, order.number),
            SlotSet(SLOT_ORDER_NUMBER, None),
        ]
        return events
