"""The order/CRM store: every read and write the bot, the Slack app and the handoff code need.

``OrderStore`` is a thin facade over one part per aggregate, all on the same engine:

- ``orders``  (store.order_book.OrderBook): read an order, cancel, return;
- ``proofs``  (store.ownership.OwnershipProofs): the e-mail, phone and postcode checks and the
  limits on failed ones;
- ``cases``   (store.cases.Cases): support cases, their Slack threads, the CRM history and the
  customer card;
- ``csat``    (store.csat_ratings.CsatRatings): ratings and their comments.

Its methods keep the names and signatures callers use; new code may use a part directly.
Callers pass plain values (order numbers in canonical form: nordvik.orders) and get frozen views
back (``store.views``); they never write SQL. Customer-facing lookups verify the order number
together with the e-mail on the order, and a wrong pair, an unknown order and junk input all
give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from store.cases import Cases
from store.csat_ratings import CsatRatings
from store.db import describe_url, get_engine, make_engine, session_scope
from store.models import Base, Order
from store.order_book import OrderBook
from store.ownership import OwnershipProofs
from store.settings import StoreSettings, VerificationLimits
from store.views import CancelResult, CaseView, CustomerCard, OrderDetails, ReturnResult


def _utc_today() -> date:
    return datetime.now(timezone.utc).date()


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
        self.verification_limits = verification_limits or VerificationLimits()
        clock = today or _utc_today
        self.orders = OrderBook(engine, return_window_days=return_window_days, today=clock)
        self.proofs = OwnershipProofs(engine, limits=self.verification_limits,
                                      read_order=self.orders.details_in)
        self.cases = Cases(engine, return_window_days=return_window_days, today=clock)
        self.csat = CsatRatings(engine)

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

    def table_counts(self) -> dict[str, int]:
        with session_scope(self.engine) as session:
            return {
                name: int(session.execute(select(func.count()).select_from(table)).scalar_one())
                for name, table in sorted(Base.metadata.tables.items())
            }

    def order_counts_by_status(self) -> dict[str, int]:
        return self.orders.order_counts_by_status()

    def sample_orders(self, per_status: int = 1) -> list[tuple[str, str, str]]:
        """(status, order number, e-mail) for trying the bot: the lowest numbers per status."""
        return self.orders.sample_orders(per_status)

    # ------------------------------------------------------------------ ownership proofs

    def verify_order(
        self, order_number: str, email: str, *, today: date | None = None
    ) -> OrderDetails | None:
        """The order when the e-mail is the one on the order; None otherwise (indistinguishably)."""
        return self.proofs.verify_order(order_number, email, today=today)

    def order_phone_matches(self, order_number: str, phone: str | None) -> bool:
        """True when `phone` (proven by the channel) is the phone of the order's customer."""
        return self.proofs.order_phone_matches(order_number, phone)

    def order_postcode_matches(self, order_number: str, postcode: object) -> bool:
        """True when `postcode` (as said or keyed, digits counted) is the delivery postcode."""
        return self.proofs.order_postcode_matches(order_number, postcode)

    def record_failed_verification(
        self, *, order_number: str | None, client: str | None, conversation_id: str
    ) -> None:
        """Count one failed ownership check against the order and the client."""
        self.proofs.record_failed_verification(order_number=order_number, client=client,
                                               conversation_id=conversation_id)

    def verification_blocked(self, *, order_number: str | None, client: str | None) -> bool:
        """True when too many checks failed for this order or this client, in any conversation."""
        return self.proofs.verification_blocked(order_number=order_number, client=client)

    # ------------------------------------------------------------------ orders

    def get_order(self, order_number: str, *, today: date | None = None) -> OrderDetails | None:
        """For agents, and for an order whose ownership is proven: no e-mail check."""
        return self.orders.get_order(order_number, today=today)

    def customer_id_for_order(self, order_number: str) -> int | None:
        return self.orders.customer_id_for_order(order_number)

    def customer_email(self, customer_id: int) -> str | None:
        """The address on file of a verified customer (never one typed in a conversation)."""
        return self.orders.customer_email(customer_id)

    def customer_card(
        self, order_number: str, *, interactions: int = 5, today: date | None = None
    ) -> CustomerCard | None:
        """Everything an agent needs about the customer behind an order."""
        return self.cases.customer_card(order_number, interactions=interactions, today=today)

    def cancel_order(
        self, order_number: str, email: str | None = None, *, customer_id: int | None = None
    ) -> CancelResult:
        """Cancel an order that has not shipped, once its ownership is proven (idempotent)."""
        return self.orders.cancel_order(order_number, email, customer_id=customer_id)

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
        """Open a return and its case for a delivered order inside the return window."""
        return self.orders.start_return(
            order_number, email, reason=reason, conversation_id=conversation_id,
            customer_id=customer_id, channel=channel, today=today)

    # ------------------------------------------------------------------ cases and CRM history

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
        return self.cases.open_case(
            subject=subject, channel=channel, customer_id=customer_id, order_number=order_number,
            conversation_id=conversation_id, status=status)

    def get_case(self, case_id: int) -> CaseView | None:
        return self.cases.get_case(case_id)

    def find_case_by_thread(self, slack_channel: str, thread_ts: str) -> CaseView | None:
        return self.cases.find_case_by_thread(slack_channel, thread_ts)

    def find_open_handoff(self, conversation_id: str) -> CaseView | None:
        """The newest case in status ``handoff`` for this conversation, if any."""
        return self.cases.find_open_handoff(conversation_id)

    def find_open_case(self, conversation_id: str) -> CaseView | None:
        """The newest case of this conversation that is not closed (open or handed off)."""
        return self.cases.find_open_case(conversation_id)

    def hand_off_case(self, case_id: int, reason: str) -> CaseView:
        """Hand an open case to an agent, noting why in its subject."""
        return self.cases.hand_off_case(case_id, reason)

    def attach_slack_thread(self, case_id: int, slack_channel: str, thread_ts: str) -> None:
        """Link a case to the Slack thread where agents handle it (same thread again: no-op)."""
        self.cases.attach_slack_thread(case_id, slack_channel, thread_ts)

    def close_case(self, case_id: int, resolution: str) -> CaseView:
        """Close a case. Idempotent: closing a closed case keeps the first resolution."""
        return self.cases.close_case(case_id, resolution)

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
        self.cases.record_interaction(
            conversation_id=conversation_id, channel=channel, direction=direction, text=text,
            customer_id=customer_id, order_number=order_number)

    # ------------------------------------------------------------------ CSAT

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
        self.csat.record_csat(conversation_id=conversation_id, rating=rating, comment=comment,
                              customer_id=customer_id, case_id=case_id)

    def add_csat_comment(self, *, conversation_id: str, comment: str) -> bool:
        """Attach a comment to the conversation's latest rating; False when there is none."""
        return self.csat.add_csat_comment(conversation_id=conversation_id, comment=comment)
