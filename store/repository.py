"""The order/CRM store: every read and write the bot, the Slack app and the handoff code need.

Callers pass plain values and get frozen views back (``store.views``); they never write SQL.
Customer-facing lookups verify the order number together with the e-mail on the order, and a
wrong pair, an unknown order and junk input all give the same answer.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, joinedload, selectinload

from nordvik.emails import normalize_email
from nordvik.orders import normalize_order_number
from store import ownership
from store.carriers import tracking_url
from store.db import describe_url, get_engine, make_engine, session_scope
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.models import (
    CASE_STATUSES,
    DIRECTIONS,
    OPEN_RETURN_STATUSES,
    ORDER_STATUSES,
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    Return,
    Shipment,
    SupportCase,
    utcnow,
)
from store.notes import cancel_reason_code, delay_reason
from store.settings import StoreSettings, VerificationLimits
from store.views import (
    CancelResult,
    CaseView,
    CustomerCard,
    InteractionView,
    OrderDetails,
    OrderLineView,
    OrderSummary,
    ReturnResult,
    ReturnView,
    ShipmentEventView,
    ShipmentView,
)

logger = logging.getLogger(__name__)

CANCELLABLE_STATUSES = ("pending", "paid", "packed")
MAX_TEXT_LENGTH = 5000
# Compared against when the order does not exist, so both paths do the same work.
_DUMMY_EMAIL = "nobody@nordvik.invalid"


def emails_match(stored: str, given: str) -> bool:
    """Constant-time comparison (time does not depend on how much of the address matches)."""
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))


def clean_text(value: object, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text as stored: a string without NUL characters (PostgreSQL rejects them), capped."""
    text_value = value if isinstance(value, str) else ("" if value is None else str(value))
    return text_value.replace("\x00", "")[:max_length]


def _optional_text(value: object, max_length: int) -> str | None:
    if value is None:
        return None
    cleaned = clean_text(value, max_length).strip()
    return cleaned or None


def _money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _case_view(case: SupportCase, order_number: str | None) -> CaseView:
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


def _return_view(ret: Return) -> ReturnView:
    return ReturnView(
        id=ret.id,
        status=ret.status,
        reason=ret.reason,
        created_at=ret.created_at,
        received_at=ret.received_at,
        refunded_at=ret.refunded_at,
        refund_amount=None if ret.refund_amount is None else _money(ret.refund_amount),
        case_id=ret.case_id,
    )


def _shipment_view(shipment: Shipment) -> ShipmentView:
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


class OrderStore:
    """Repository over one database (SQLite file or PostgreSQL)."""

    def __init__(
        self,
        engine: Engine,
        *,
        return_window_days: int = 30,
        today: Callable[[], date] | None = None,
        verification_limits: VerificationLimits | None = None,
    ) -> None:
        self.engine = engine
        self.return_window_days = return_window_days
        self._today = today or (lambda: datetime.now(timezone.utc).date())
        self.verification_limits = verification_limits or VerificationLimits()

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> OrderStore:
        """Shares the cached engine of ``store.db.get_engine`` for these settings."""
        return cls(get_engine(settings), return_window_days=settings.return_window_days,
                   verification_limits=settings.verification_limits)

    @classmethod
    def from_url(cls, database_url: str, *, return_window_days: int = 30) -> OrderStore:
        return cls(make_engine(database_url), return_window_days=return_window_days)

    def __repr__(self) -> str:
        return f"OrderStore({describe_url(self.engine.url)})"

    # ------------------------------------------------------------------ health and stats

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers and has the schema."""
        with session_scope(self.engine) as session:
            session.execute(text("SELECT 1"))
            session.execute(select(func.count()).select_from(Order).limit(1))

    def order_counts_by_status(self) -> dict[str, int]:
        with session_scope(self.engine) as session:
            rows = session.execute(select(Order.status, func.count()).group_by(Order.status))
            counts = {status: 0 for status in ORDER_STATUSES}
            counts.update({status: int(n) for status, n in rows})
            return counts

    def table_counts(self) -> dict[str, int]:
        from store.models import Base

        with session_scope(self.engine) as session:
            return {
                name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in sorted(Base.metadata.tables.items())
            }

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

    # ------------------------------------------------------------------ verification limits

    def record_failed_verification(
        self, *, order_number: str | None, client: str | None, conversation_id: str
    ) -> None:
        """Count one failed order-number/e-mail check against the order and the client."""
        from store.verification_limits import record_failed_verification

        record_failed_verification(self.engine, self.verification_limits,
                                   order_number=order_number, client=client,
                                   conversation_id=conversation_id)

    def verification_blocked(self, *, order_number: str | None, client: str | None) -> bool:
        """True when too many checks failed for this order or this client, in any conversation
        (store.settings.VerificationLimits); the bot then offers a person instead."""
        from store.verification_limits import verification_blocked

        return verification_blocked(self.engine, self.verification_limits,
                                    order_number=order_number, client=client)

    # ------------------------------------------------------------------ other ownership proofs

    def order_phone_matches(self, order_number: str, phone: str | None) -> bool:
        """True when `phone` (E.164, proven by the channel: caller ID, messaging sender) is the
        phone of the order's customer; False for unknown orders, junk, withheld numbers."""
        return ownership.order_phone_matches(self.engine, order_number, phone)

    def order_postcode_matches(self, order_number: str, postcode: object) -> bool:
        """True when `postcode` (as said or keyed, digits counted) is the delivery postcode."""
        return ownership.order_postcode_matches(self.engine, order_number, postcode)

    # ------------------------------------------------------------------ orders

    def _today_date(self, today: date | None) -> date:
        return today if today is not None else self._today()

    def _load_order(self, session: Session, number: str) -> Order | None:
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

    def _details(self, order: Order, today: date) -> OrderDetails:
        shipment = _shipment_view(order.shipments[-1]) if order.shipments else None
        returns = tuple(_return_view(r) for r in order.returns)
        deadline: date | None = None
        days_left: int | None = None
        if order.status == "delivered" and order.delivered_at is not None:
            deadline = order.delivered_at.date() + timedelta(days=self.return_window_days)
            days_left = max(0, (deadline - today).days)
        return OrderDetails(
            number=order.number,
            status=order.status,
            placed_at=order.placed_at,
            total=_money(order.total),
            currency=order.currency,
            lines=tuple(
                OrderLineView(
                    sku=ln.sku, name=ln.name, qty=ln.qty, unit_price=_money(ln.unit_price)
                )
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

    def _verified_order_id(
        self, session: Session, number: str | None, email: str | None
    ) -> int | None:
        """The order's id when the pair matches; the same work is done when it does not."""
        if number is None or email is None:
            return None
        row = session.execute(
            select(Order.id, Customer.email)
            .join(Customer, Order.customer_id == Customer.id)
            .where(Order.number == number)
        ).first()
        stored = row[1] if row is not None else _DUMMY_EMAIL
        matched = emails_match(stored.strip().lower(), email)
        return int(row[0]) if row is not None and matched else None

    def _owned_order_id(
        self, session: Session, number: str | None, email: str | None, customer_id: int | None
    ) -> int | None:
        """The order's id when the caller proves ownership: by the e-mail on the order, or by the
        customer id of an order verified earlier in the same conversation (exactly one)."""
        if email is not None:
            return self._verified_order_id(session, number, normalize_email(email))
        if number is None or customer_id is None or isinstance(customer_id, bool):
            return None
        found = session.execute(
            select(Order.id).where(Order.number == number, Order.customer_id == int(customer_id))
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def verify_order(
        self, order_number: str, email: str, *, today: date | None = None
    ) -> OrderDetails | None:
        """The order when the e-mail is the one on the order; None otherwise (indistinguishably)."""
        number = normalize_order_number(order_number)
        given = normalize_email(email)
        if number is None or given is None:
            return None
        with session_scope(self.engine) as session:
            if self._verified_order_id(session, number, given) is None:
                return None
            order = self._load_order(session, number)
            return None if order is None else self._details(order, self._today_date(today))

    def get_order(self, order_number: str, *, today: date | None = None) -> OrderDetails | None:
        """For agents only: the order without an e-mail check."""
        number = normalize_order_number(order_number)
        if number is None:
            return None
        with session_scope(self.engine) as session:
            order = self._load_order(session, number)
            return None if order is None else self._details(order, self._today_date(today))

    def customer_id_for_order(self, order_number: str) -> int | None:
        number = normalize_order_number(order_number)
        if number is None:
            return None
        with session_scope(self.engine) as session:
            found = session.execute(
                select(Order.customer_id).where(Order.number == number)
            ).scalar_one_or_none()
            return None if found is None else int(found)

    def customer_card(
        self, order_number: str, *, interactions: int = 5, today: date | None = None
    ) -> CustomerCard | None:
        """Everything an agent needs about the customer behind an order."""
        number = normalize_order_number(order_number)
        if number is None:
            return None
        limit = max(0, min(int(interactions), 100))
        with session_scope(self.engine) as session:
            order = self._load_order(session, number)
            if order is None:
                return None
            details = self._details(order, self._today_date(today))
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
                lifetime_value=_money(value),
                recent_orders=tuple(
                    OrderSummary(
                        number=o.number,
                        status=o.status,
                        placed_at=o.placed_at,
                        total=_money(o.total),
                        currency=o.currency,
                    )
                    for o in recent
                ),
                open_cases=tuple(_case_view(case, num) for case, num in cases),
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

    def cancel_order(
        self, order_number: str, email: str | None = None, *, customer_id: int | None = None
    ) -> CancelResult:
        """Cancel an order that has not shipped. Idempotent; checks ownership first: the e-mail
        on the order, or the customer id of an order already verified in the conversation."""
        number = normalize_order_number(order_number)
        if number is None or (email is None) == (customer_id is None):
            return CancelResult(outcome="not_verified", order_status=None)
        with session_scope(self.engine, write=True) as session:
            order_id = self._owned_order_id(session, number, email, customer_id)
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
        number = normalize_order_number(order_number)
        if number is None or (email is None) == (customer_id is None):
            return ReturnResult(outcome="not_verified")
        channel_value = _optional_text(channel, 30) or "chat"
        day = self._today_date(today)
        with session_scope(self.engine, write=True) as session:
            order_id = self._owned_order_id(session, number, email, customer_id)
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
                conversation_id=_optional_text(conversation_id, 200),
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

    # ------------------------------------------------------------------ cases

    def _order_number_of(self, session: Session, order_id: int | None) -> str | None:
        if order_id is None:
            return None
        found = session.execute(
            select(Order.number).where(Order.id == order_id)
        ).scalar_one_or_none()
        return None if found is None else str(found)

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
        channel_value = _optional_text(channel, 30)
        if channel_value is None:
            raise InvalidInput("a case needs a channel (chat, slack, email, phone)")
        number = normalize_order_number(order_number) if order_number is not None else None
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
                conversation_id=_optional_text(conversation_id, 200),
                created_at=now,
                closed_at=now if status == "closed" else None,
            )
            session.add(case)
            session.flush()
            logger.info("case %s opened (status %s, channel %s)", case.id, status, channel_value)
            return _case_view(case, number if order_id is not None else None)

    def get_case(self, case_id: int) -> CaseView | None:
        with session_scope(self.engine) as session:
            case = session.get(SupportCase, case_id)
            if case is None:
                return None
            return _case_view(case, self._order_number_of(session, case.order_id))

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
            return _case_view(case, self._order_number_of(session, case.order_id))

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
            return _case_view(case, self._order_number_of(session, case.order_id))

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
            return _case_view(case, self._order_number_of(session, case.order_id))

    def attach_slack_thread(self, case_id: int, slack_channel: str, thread_ts: str) -> None:
        """Link a case to the Slack thread where agents handle it (same thread again: no-op)."""
        channel_value = _optional_text(slack_channel, 40)
        ts_value = _optional_text(thread_ts, 40)
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
                case.resolution = _optional_text(resolution, MAX_TEXT_LENGTH)
                case.closed_at = utcnow()
                session.flush()
                logger.info("case %s closed", case_id)
            return _case_view(case, self._order_number_of(session, case.order_id))

    # ------------------------------------------------------------------ CRM history

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
        conversation = _optional_text(conversation_id, 200)
        if conversation is None:
            raise InvalidInput("an interaction needs a conversation_id")
        number = normalize_order_number(order_number) if order_number is not None else None
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
                    channel=_optional_text(channel, 30) or "unknown",
                    direction=direction,
                    text=clean_text(text),
                    order_number=number,
                    created_at=utcnow(),
                )
            )

    def record_csat(
        self,
        *,
        conversation_id: str,
        rating: int,
        comment: str | None = None,
        customer_id: int | None = None,
        case_id: int | None = None,
    ) -> None:
        """A satisfaction rating from 1 (bad) to 5 (great)."""
        if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
            raise InvalidInput(f"rating {rating!r} is not an integer from 1 to 5")
        conversation = _optional_text(conversation_id, 200)
        if conversation is None:
            raise InvalidInput("a CSAT rating needs a conversation_id")
        with session_scope(self.engine, write=True) as session:
            if case_id is not None:
                case = session.get(SupportCase, case_id)
                if case is None:
                    raise NotFound(f"case {case_id} does not exist")
                customer_id = customer_id if customer_id is not None else case.customer_id
            if customer_id is not None and session.get(Customer, customer_id) is None:
                raise NotFound(f"customer {customer_id} does not exist")
            session.add(
                CsatFeedback(
                    conversation_id=conversation,
                    customer_id=customer_id,
                    case_id=case_id,
                    rating=rating,
                    comment=_optional_text(comment, 2000),
                    created_at=utcnow(),
                )
            )

    def add_csat_comment(self, *, conversation_id: str, comment: str) -> bool:
        """Attach a comment to the conversation's latest rating (the comment comes a message
        after the rating). False when the conversation has no rating; a second comment replaces
        the first."""
        conversation = _optional_text(conversation_id, 200)
        text = _optional_text(comment, 2000)
        if conversation is None or text is None:
            raise InvalidInput("a CSAT comment needs a conversation_id and a text")
        with session_scope(self.engine, write=True) as session:
            latest = (
                session.execute(
                    select(CsatFeedback)
                    .where(CsatFeedback.conversation_id == conversation)
                    .order_by(CsatFeedback.id.desc())
                )
                .scalars()
                .first()
            )
            if latest is None:
                return False
            latest.comment = text
            return True
