"""Orders: read one (for an agent, or once its ownership is proven), cancel it, start a return;
the counts and samples of the demo; and the rows of an order made into frozen views
(store.views), with the load they need.

Order numbers arrive in canonical form (nordvik.orders); cancelling and returning check ownership
first (store.ownership), and a failed check looks the same as an unknown order. Callers outside
the store get views only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload

from nordvik.orders import canonical_order_number
from store.carriers import tracking_url
from store.db import session_scope
from store.models import (
    OPEN_RETURN_STATUSES,
    ORDER_STATUSES,
    Customer,
    Order,
    Return,
    Shipment,
    SupportCase,
    clean_text,
    money,
    optional_text,
    utcnow,
)
from store.notes import cancel_reason_code, delay_reason
from store.ownership import owned_order_id
from store.views import (
    CancelResult,
    OrderDetails,
    OrderLineView,
    ReturnResult,
    ReturnView,
    ShipmentEventView,
    ShipmentView,
)

logger = logging.getLogger(__name__)

CANCELLABLE_STATUSES = ("pending", "paid", "packed")


# ------------------------------------------------------------------ rows to views


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


class OrderBook:
    """The orders of one database; return deadlines counted from `today()`."""

    def __init__(self, engine: Engine, *, return_window_days: int,
                 today: Callable[[], date]) -> None:
        self.engine = engine
        self.return_window_days = return_window_days
        self._today = today

    def _today_date(self, today: date | None) -> date:
        return today if today is not None else self._today()

    def details_in(self, session: Session, number: str, today: date | None) -> OrderDetails | None:
        """The order's details read in `session` (the caller's transaction), or None."""
        order = load_order(session, number)
        if order is None:
            return None
        return order_details(order, self._today_date(today), self.return_window_days)

    # ------------------------------------------------------------------ reads

    def order_counts_by_status(self) -> dict[str, int]:
        with session_scope(self.engine) as session:
            rows = session.execute(select(Order.status, func.count()).group_by(Order.status))
            counts = {status: 0 for status in ORDER_STATUSES}
            counts.update({status: int(n) for status, n in rows})
            return counts

    def sample_orders(self, per_status: int = 1) -> list[tuple[str, str, str]]:
        """(status, order number, e-mail) for trying the bot: the lowest numbers per status."""
        out: list[tuple[str, str, str]] = []
        with session_scope(self.engine) as session:
            for status in ORDER_STATUSES:
                rows = session.execute(
                    select(Order.number, Customer.email)
                    .join(Customer, Order.customer_id == Customer.id)
                    .where(Order.status == status)
                    .order_by(Order.number)
                    .limit(per_status)
                )
                out.extend((status, number, email) for number, email in rows)
        return out

    def get_order(self, order_number: str, *, today: date | None = None) -> OrderDetails | None:
        """For agents, and for an order whose ownership is proven: no e-mail check."""
        number = canonical_order_number(order_number)
        if number is None:
            return None
        with session_scope(self.engine) as session:
            return self.details_in(session, number, today)

    def customer_id_for_order(self, order_number: str) -> int | None:
        number = canonical_order_number(order_number)
        if number is None:
            return None
        with session_scope(self.engine) as session:
            found = session.execute(
                select(Order.customer_id).where(Order.number == number)
            ).scalar_one_or_none()
            return None if found is None else int(found)

    def customer_email(self, customer_id: int) -> str | None:
        """The address on file of a customer (for mail to a verified customer), or None."""
        with session_scope(self.engine) as session:
            found = session.execute(
                select(Customer.email).where(Customer.id == int(customer_id))
            ).scalar_one_or_none()
            return None if found is None else str(found)

    # ------------------------------------------------------------------ changes

    def cancel_order(
        self, order_number: str, email: str | None = None, *, customer_id: int | None = None
    ) -> CancelResult:
        """Cancel an order that has not shipped. Idempotent; checks ownership first: the e-mail
        on the order, or the customer id of an order already verified in the conversation."""
        number = canonical_order_number(order_number)
        if number is None or (email is None) == (customer_id is None):
            return CancelResult(outcome="not_verified", order_status=None)
        with session_scope(self.engine, write=True) as session:
            order_id = owned_order_id(session, number, email, customer_id)
            if order_id is None:
                return CancelResult(outcome="not_verified", order_status=None)
            now = utcnow()
            # One conditional UPDATE: two concurrent cancels cannot both succeed.
            result = session.execute(
                update(Order)
                .where(Order.id == order_id, Order.status.in_(CANCELLABLE_STATUSES))
                .values(
                    status="cancelled",
                    cancelled_at=now,
                    updated_at=now,
                    cancel_reason="cancelled at the customer's request",
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                logger.info("order %s cancelled", number)
                return CancelResult(outcome="cancelled", order_status="cancelled")
            status = session.execute(select(Order.status).where(Order.id == order_id)).scalar_one()
            if status == "cancelled":
                return CancelResult(outcome="already_cancelled", order_status=status)
            return CancelResult(outcome="not_cancellable", order_status=status)

    def start_return(
        self,
        order_number: str,
        email: str | None = None,
        *,
        reason: str,
        conversation_id: str | None,
        customer_id: int | None = None,
        channel: str = "chat",
        today: date | None = None,
    ) -> ReturnResult:
        """Open a return and a support case for a delivered order inside the return window.
        Ownership as for cancel_order: the e-mail on the order, or a verified customer id."""
        number = canonical_order_number(order_number)
        if number is None or (email is None) == (customer_id is None):
            return ReturnResult(outcome="not_verified")
        channel_value = optional_text(channel, 30) or "chat"
        day = self._today_date(today)
        with session_scope(self.engine, write=True) as session:
            order_id = owned_order_id(session, number, email, customer_id)
            if order_id is None:
                return ReturnResult(outcome="not_verified")
            # Serialises concurrent requests for the same order on PostgreSQL (no-op on SQLite,
            # where the write transaction itself is exclusive).
            order = session.execute(
                select(Order).where(Order.id == order_id).with_for_update()
            ).scalar_one()
            days_left: int | None = None
            if order.delivered_at is not None:
                deadline = order.delivered_at.date() + timedelta(days=self.return_window_days)
                days_left = (deadline - day).days
            existing = (
                session.execute(
                    select(Return)
                    .where(Return.order_id == order_id, Return.status.in_(OPEN_RETURN_STATUSES))
                    .order_by(Return.id)
                )
                .scalars()
                .first()
            )
            if existing is not None:
                return ReturnResult(
                    outcome="already_open",
                    return_id=existing.id,
                    case_id=existing.case_id,
                    days_left=None if days_left is None else max(0, days_left),
                )
            if order.status != "delivered" or order.delivered_at is None:
                return ReturnResult(outcome="not_delivered")
            if days_left is None or days_left < 0:
                return ReturnResult(outcome="window_closed", days_left=0)
            now = utcnow()
            case = SupportCase(
                customer_id=order.customer_id,
                order_id=order.id,
                subject=f"Return of order {number}",
                channel=channel_value,
                status="open",
                conversation_id=optional_text(conversation_id, 200),
                created_at=now,
            )
            session.add(case)
            session.flush()
            ret = Return(
                order_id=order.id,
                case_id=case.id,
                status="requested",
                reason=clean_text(reason, 2000).strip() or "no reason given",
                created_at=now,
            )
            session.add(ret)
            order.updated_at = now
            session.flush()
            logger.info("return %s and case %s opened for order %s", ret.id, case.id, number)
            return ReturnResult(
                outcome="created", return_id=ret.id, case_id=case.id, days_left=days_left
            )
