"""Orders: read one (for an agent, or once its ownership is proven), the customer card behind it,
cancel it, start a return; and the counts and samples of the demo.

Order numbers arrive in canonical form (store.values); cancelling and returning check ownership
first (store.ownership_proofs), and a failed check looks the same as an unknown order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from store.db import session_scope
from store.models import (
    OPEN_RETURN_STATUSES,
    ORDER_STATUSES,
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    Return,
    SupportCase,
    utcnow,
)
from store.ownership_proofs import owned_order_id
from store.values import canonical_order_number, clean_text, money, optional_text
from store.view_builders import case_view, load_order, order_details
from store.views import (
    CancelResult,
    CustomerCard,
    InteractionView,
    OrderDetails,
    OrderSummary,
    ReturnResult,
)

logger = logging.getLogger(__name__)

CANCELLABLE_STATUSES = ("pending", "paid", "packed")


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

    def customer_card(
        self, order_number: str, *, interactions: int = 5, today: date | None = None
    ) -> CustomerCard | None:
        """Everything an agent needs about the customer behind an order."""
        number = canonical_order_number(order_number)
        if number is None:
            return None
        limit = max(0, min(int(interactions), 100))
        with session_scope(self.engine) as session:
            order = load_order(session, number)
            if order is None:
                return None
            details = order_details(order, self._today_date(today), self.return_window_days)
            customer: Customer = order.customer
            value = session.execute(
                select(func.coalesce(func.sum(Order.total), 0)).where(
                    Order.customer_id == customer.id,
                    Order.status.notin_(("cancelled", "refunded")),
                )
            ).scalar_one()
            recent = session.execute(
                select(Order)
                .where(Order.customer_id == customer.id)
                .order_by(Order.placed_at.desc(), Order.id.desc())
                .limit(5)
            ).scalars()
            cases = session.execute(
                select(SupportCase, Order.number)
                .outerjoin(Order, SupportCase.order_id == Order.id)
                .where(SupportCase.customer_id == customer.id, SupportCase.status != "closed")
                .order_by(SupportCase.created_at.desc(), SupportCase.id.desc())
            ).all()
            turns = session.execute(
                select(Interaction)
                .where(Interaction.customer_id == customer.id)
                .order_by(Interaction.created_at.desc(), Interaction.id.desc())
                .limit(limit)
            ).scalars()
            csat = session.execute(
                select(func.avg(CsatFeedback.rating)).where(CsatFeedback.customer_id == customer.id)
            ).scalar_one_or_none()
            total_orders = session.execute(
                select(func.count(Order.id)).where(Order.customer_id == customer.id)
            ).scalar_one()
            return CustomerCard(
                customer_id=customer.id,
                name=customer.name,
                email=customer.email,
                phone=customer.phone,
                country=customer.country,
                language=customer.language,
                customer_since=customer.created_at,
                order=details,
                order_count=int(total_orders),
                lifetime_value=money(value),
                recent_orders=tuple(
                    OrderSummary(
                        number=o.number,
                        status=o.status,
                        placed_at=o.placed_at,
                        total=money(o.total),
                        currency=o.currency,
                    )
                    for o in recent
                ),
                open_cases=tuple(case_view(case, num) for case, num in cases),
                recent_interactions=tuple(
                    InteractionView(
                        conversation_id=t.conversation_id,
                        channel=t.channel,
                        direction=t.direction,
                        text=t.text,
                        order_number=t.order_number,
                        created_at=t.created_at,
                    )
                    for t in turns
                ),
                csat_average=None if csat is None else round(float(csat), 2),
            )

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
