"""Support cases and the customer's interactions: a case opened, handed off to an agent, linked
to the Slack thread where agents handle it, closed; every conversation turn in the CRM history;
and the customer card agents see (the customer behind an order: orders, open cases, recent
interactions, CSAT). Cases come out as frozen views (store.views). Order numbers arrive in
canonical form (nordvik.orders); any other is not linked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nordvik.orders import canonical_order_number
from store.db import session_scope
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.models import (
    CASE_STATUSES,
    DIRECTIONS,
    MAX_TEXT_LENGTH,
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    SupportCase,
    clean_text,
    money,
    optional_text,
    utcnow,
)
from store.order_book import load_order, order_details
from store.views import CaseView, CustomerCard, InteractionView, OrderSummary

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------ rows to views


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


def order_number_of(session: Session, order_id: int | None) -> str | None:
    if order_id is None:
        return None
    found = session.execute(select(Order.number).where(Order.id == order_id)).scalar_one_or_none()
    return None if found is None else str(found)


class Cases:
    """The cases and the CRM history of one database; the customer card's return deadlines
    counted from `today()`."""

    def __init__(self, engine: Engine, *, return_window_days: int,
                 today: Callable[[], date]) -> None:
        self.engine = engine
        self.return_window_days = return_window_days
        self._today = today

    def _today_date(self, today: date | None) -> date:
        return today if today is not None else self._today()

    def open_case(
        self,
        *,
        subject: str,
        channel: str,
        customer_id: int | None = None,
        order_number: str | None = None,
        conversation_id: str | None = None,
        status: str = "open",
    ) -> CaseView:
        """A new support case. An order number that is junk or unknown is not linked."""
        if status not in CASE_STATUSES:
            raise InvalidInput(f"case status {status!r} is not one of {', '.join(CASE_STATUSES)}")
        channel_value = optional_text(channel, 30)
        if channel_value is None:
            raise InvalidInput("a case needs a channel (chat, slack, email, phone)")
        number = canonical_order_number(order_number)
        with session_scope(self.engine, write=True) as session:
            order_id: int | None = None
            if number is not None:
                row = session.execute(
                    select(Order.id, Order.customer_id).where(Order.number == number)
                ).first()
                if row is not None:
                    order_id = int(row[0])
                    customer_id = customer_id if customer_id is not None else int(row[1])
            if customer_id is not None and session.get(Customer, customer_id) is None:
                raise NotFound(f"customer {customer_id} does not exist")
            now = utcnow()
            case = SupportCase(
                customer_id=customer_id,
                order_id=order_id,
                subject=clean_text(subject, 300).strip() or "(no subject)",
                channel=channel_value,
                status=status,
                conversation_id=optional_text(conversation_id, 200),
                created_at=now,
                closed_at=now if status == "closed" else None,
            )
            session.add(case)
            session.flush()
            logger.info("case %s opened (status %s, channel %s)", case.id, status, channel_value)
            return case_view(case, number if order_id is not None else None)

    def get_case(self, case_id: int) -> CaseView | None:
        with session_scope(self.engine) as session:
            case = session.get(SupportCase, case_id)
            if case is None:
                return None
            return case_view(case, order_number_of(session, case.order_id))

    def find_case_by_thread(self, slack_channel: str, thread_ts: str) -> CaseView | None:
        with session_scope(self.engine) as session:
            case = (
                session.execute(
                    select(SupportCase)
                    .where(
                        SupportCase.slack_channel == clean_text(slack_channel, 40),
                        SupportCase.slack_thread_ts == clean_text(thread_ts, 40),
                    )
                    .order_by(SupportCase.id.desc())
                )
                .scalars()
                .first()
            )
            if case is None:
                return None
            return case_view(case, order_number_of(session, case.order_id))

    def _newest_case(self, conversation_id: str, *statuses: str) -> CaseView | None:
        """The conversation's newest case in one of `statuses`."""
        with session_scope(self.engine) as session:
            case = (
                session.execute(
                    select(SupportCase)
                    .where(
                        SupportCase.conversation_id == clean_text(conversation_id, 200),
                        SupportCase.status.in_(statuses),
                    )
                    .order_by(SupportCase.id.desc())
                )
                .scalars()
                .first()
            )
            if case is None:
                return None
            return case_view(case, order_number_of(session, case.order_id))

    def find_open_handoff(self, conversation_id: str) -> CaseView | None:
        """The newest case in status ``handoff`` for this conversation, if any."""
        return self._newest_case(conversation_id, "handoff")

    def find_open_case(self, conversation_id: str) -> CaseView | None:
        """The newest case of this conversation that is not closed (open or handed off)."""
        return self._newest_case(conversation_id, *(s for s in CASE_STATUSES if s != "closed"))

    def hand_off_case(self, case_id: int, reason: str) -> CaseView:
        """Hand an open case to an agent (status ``handoff``), noting why in its subject.
        A case already handed off is returned unchanged; a closed one cannot be."""
        with session_scope(self.engine, write=True) as session:
            case = session.get(SupportCase, case_id, with_for_update=True)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            if case.status == "closed":
                raise InvalidTransition(f"case {case_id} is closed; it cannot be handed off")
            if case.status != "handoff":
                note = clean_text(reason, 200).strip()
                case.status = "handoff"
                if note:
                    case.subject = clean_text(f"{case.subject}; handed off: {note}", 300)
            return case_view(case, order_number_of(session, case.order_id))

    def attach_slack_thread(self, case_id: int, slack_channel: str, thread_ts: str) -> None:
        """Link a case to the Slack thread where agents handle it (same thread again: no-op)."""
        channel_value = optional_text(slack_channel, 40)
        ts_value = optional_text(thread_ts, 40)
        if channel_value is None or ts_value is None:
            raise InvalidInput("a Slack thread needs a channel id and a thread_ts")
        with session_scope(self.engine, write=True) as session:
            case = session.get(SupportCase, case_id, with_for_update=True)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            if (case.slack_channel, case.slack_thread_ts) == (channel_value, ts_value):
                return
            if case.status == "closed":
                raise InvalidTransition(f"case {case_id} is closed; it cannot get a Slack thread")
            if case.slack_thread_ts is not None:
                raise InvalidTransition(
                    f"case {case_id} is already linked to thread {case.slack_channel}/"
                    f"{case.slack_thread_ts}"
                )
            case.slack_channel = channel_value
            case.slack_thread_ts = ts_value

    def close_case(self, case_id: int, resolution: str) -> CaseView:
        """Close a case. Idempotent: closing a closed case keeps the first resolution."""
        with session_scope(self.engine, write=True) as session:
            case = session.get(SupportCase, case_id, with_for_update=True)
            if case is None:
                raise NotFound(f"case {case_id} does not exist")
            if case.status != "closed":
                case.status = "closed"
                case.resolution = optional_text(resolution, MAX_TEXT_LENGTH)
                case.closed_at = utcnow()
                session.flush()
                logger.info("case %s closed", case_id)
            return case_view(case, order_number_of(session, case.order_id))

    def record_interaction(
        self,
        *,
        conversation_id: str,
        channel: str,
        direction: str,
        text: str,
        customer_id: int | None = None,
        order_number: str | None = None,
    ) -> None:
        """One conversation turn. Without customer_id, a known order's customer is used."""
        if direction not in DIRECTIONS:
            raise InvalidInput(f"direction {direction!r} is not 'in' or 'out'")
        conversation = optional_text(conversation_id, 200)
        if conversation is None:
            raise InvalidInput("an interaction needs a conversation_id")
        number = canonical_order_number(order_number)
        with session_scope(self.engine, write=True) as session:
            if customer_id is None and number is not None:
                found = session.execute(
                    select(Order.customer_id).where(Order.number == number)
                ).scalar_one_or_none()
                customer_id = None if found is None else int(found)
            elif customer_id is not None and session.get(Customer, customer_id) is None:
                raise NotFound(f"customer {customer_id} does not exist")
            session.add(
                Interaction(
                    customer_id=customer_id,
                    conversation_id=conversation,
                    channel=optional_text(channel, 30) or "unknown",
                    direction=direction,
                    text=clean_text(text),
                    order_number=number,
                    created_at=utcnow(),
                )
            )

    # ------------------------------------------------------------------ the customer card

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
