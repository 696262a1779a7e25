"""Customer satisfaction: a rating from 1 to 5 per conversation, and the comment that may follow
it a message later."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from store.db import session_scope
from store.errors import InvalidInput, NotFound
from store.models import CsatFeedback, Customer, SupportCase, optional_text, utcnow


class CsatRatings:
    """The CSAT answers of one database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

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
        conversation = optional_text(conversation_id, 200)
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
                    comment=optional_text(comment, 2000),
                    created_at=utcnow(),
                )
            )

    def add_csat_comment(self, *, conversation_id: str, comment: str) -> bool:
        """Attach a comment to the conversation's latest rating (the comment comes a message
        after the rating). False when the conversation has no rating; a second comment replaces
        the first."""
        conversation = optional_text(conversation_id, 200)
        text = optional_text(comment, 2000)
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
