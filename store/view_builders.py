"""Rows to frozen views (store.views), and the loads the views need. Shared by the store's parts;
callers outside the store get views only."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from store.carriers import tracking_url
from store.models import Order, Return, Shipment, SupportCase
from store.notes import cancel_reason_code, delay_reason
from store.values import money
from store.views import (
    CaseView,
    OrderDetails,
    OrderLineView,
    ReturnView,
    ShipmentEventView,
    ShipmentView,
)


def case_view(case: SupportCase, order_number: str | None) -> CaseView:
    return CaseView(
        id=case.id,
        subject=case.subject,
        channel=case.channel,
        status=case.status,
        customer_id=case.customer_id,
        order_number=order_number,
        conversation_id=case.conversation_id,
        slack_channel=case.slack_channel,
        slack_thread_ts=case.slack_thread_ts,
        resolution=case.resolution,
        created_at=case.created_at,
        closed_at=case.closed_at,
    )


def return_view(ret: Return) -> ReturnView:
    return ReturnView(
        id=ret.id,
        status=ret.status,
        reason=ret.reason,
        created_at=ret.created_at,
        received_at=ret.received_at,
        refunded_at=ret.refunded_at,
        refund_amount=None if ret.refund_amount is None else money(ret.refund_amount),
        case_id=ret.case_id,
    )


def shipment_view(shipment: Shipment) -> ShipmentView:
    return ShipmentView(
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        tracking_url=shipment.tracking_url
        or tracking_url(shipment.carrier, shipment.tracking_number),
        status=shipment.status,
        eta=shipment.eta,
        events=tuple(
            ShipmentEventView(
                occurred_at=e.occurred_at,
                status=e.status,
                location=e.location,
                description=e.description,
            )
            for e in sorted(shipment.events, key=lambda ev: (ev.occurred_at, ev.id))
        ),
        shipped_at=shipment.shipped_at,
    )


def load_order(session: Session, number: str) -> Order | None:
    """The order with its customer, lines, shipments (with events) and returns."""
    stmt = (
        select(Order)
        .where(Order.number == number)
        .options(
            joinedload(Order.customer),
            selectinload(Order.lines),
            selectinload(Order.shipments).selectinload(Shipment.events),
            selectinload(Order.returns),
        )
    )
    return session.execute(stmt).unique().scalar_one_or_none()


def order_number_of(session: Session, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    found = session.execute(select(Order.number).where(Order.id == order_id)).scalar_one_or_none()
    return None if found is None else str(found)


def order_details(order: Order, today: date, return_window_days: int) -> OrderDetails:
    """The whole order as the bot and the agents see it, its return deadline counted from
    `today` (a loaded order: see load_order)."""
    shipment = shipment_view(order.shipments[-1]) if order.shipments else None
    returns = tuple(return_view(r) for r in order.returns)
    deadline: date | None = None
    days_left: int | None = None
    if order.status == "delivered" and order.delivered_at is not None:
        deadline = order.delivered_at.date() + timedelta(days=return_window_days)
        days_left = max(0, (deadline - today).days)
    return OrderDetails(
        number=order.number,
        status=order.status,
        placed_at=order.placed_at,
        total=money(order.total),
        currency=order.currency,
        lines=tuple(
            OrderLineView(sku=ln.sku, name=ln.name, qty=ln.qty, unit_price=money(ln.unit_price))
            for ln in order.lines
        ),
        shipment=shipment,
        returns=returns,
        customer_id=order.customer_id,
        customer_name=order.customer.name,
        eta=shipment.eta if shipment else None,
        delay_reason=delay_reason(shipment) if order.status == "delayed" else None,
        cancel_reason=cancel_reason_code(order.cancel_reason)
        if order.status == "cancelled" else None,
        updated_at=order.updated_at,
        delivered_at=order.delivered_at,
        cancelled_at=order.cancelled_at,
        shipping_country=order.shipping_country,
        customer_language=order.customer.language,
        return_deadline=deadline,
        return_days_left=days_left,
    )
