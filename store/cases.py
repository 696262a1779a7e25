"""Support cases and the customer's interactions: a case opened, handed off to an agent, linked
to the Slack thread where agents handle it, closed; and every conversation turn in the CRM
history. Order numbers arrive in canonical form (store.values); any other is not linked."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.engine import Engine

from store.db import session_scope
from store.errors import InvalidInput, InvalidTransition, NotFound
from store.models import (
    CASE_STATUSES,
    DIRECTIONS,
    Customer,
    Interaction,
    Order,
    SupportCase,
    utcnow,
)
from store.values import MAX_TEXT_LENGTH, canonical_order_number, clean_text, optional_text
from store.view_builders import case_view, order_number_of
from store.views import CaseView

logger = logging.getLogger(__name__)


class Cases:
    """The cases and the CRM history of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
