"""Proving that an order is the customer's: the e-mail on the order (every channel), the phone
the channel proved or the delivery postcode (store.ownership), and the limits on failed guesses
across conversations (store.verification_limits).

A wrong pair, an unknown order and junk input all give the same answer, after the same work:
the e-mail is compared in constant time, against a dummy address when there is no such order.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nordvik.text import normalize_email
from store import ownership, verification_limits
from store.db import session_scope
from store.models import Customer, Order
from store.settings import VerificationLimits
from store.values import canonical_order_number
from store.views import OrderDetails

# Compared against when the order does not exist, so both paths do the same work.
_DUMMY_EMAIL = "nobody@nordvik.invalid"

# Reads a verified order's details inside the proof's session (OrderBook.details_in).
OrderReader = Callable[[Session, str, date | None], OrderDetails | None]


def emails_match(stored: str, given: str) -> bool:
    """Constant-time comparison (time does not depend on how much of the address matches)."""
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))


def verified_order_id(session: Session, number: str | None, email: str | None) -> int | None:
    """The order's id when the pair matches (`email` normalised); the same work is done when
    it does not."""
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


def owned_order_id(
    session: Session, number: str | None, email: str | None, customer_id: int | None
) -> int | None:
    """The order's id when the caller proves ownership: by the e-mail on the order, or by the
    customer id of an order verified earlier in the same conversation (exactly one)."""
    if email is not None:
        return verified_order_id(session, number, normalize_email(email))
    if number is None or customer_id is None or isinstance(customer_id, bool):
        return None
    found = session.execute(
        select(Order.id).where(Order.number == number, Order.customer_id == int(customer_id))
    ).scalar_one_or_none()
    return None if found is None else int(found)


class OwnershipProofs:
    """The ownership checks of one database, and their limits."""

    def __init__(self, engine: Engine, *, limits: VerificationLimits,
                 read_order: OrderReader) -> None:
        self.engine = engine
        self.limits = limits
        self._read_order = read_order

    def verify_order(
        self, order_number: str, email: str, *, today: date | None = None
    ) -> OrderDetails | None:
        """The order when the e-mail is the one on the order; None otherwise (indistinguishably).
        `order_number` in canonical form (store.values)."""
        number = canonical_order_number(order_number)
        given = normalize_email(email)
        if number is None or given is None:
            return None
        with session_scope(self.engine) as session:
            if verified_order_id(session, number, given) is None:
                return None
            return self._read_order(session, number, today)

    def order_phone_matches(self, order_number: str, phone: str | None) -> bool:
        """True when `phone` (E.164, proven by the channel: caller ID, messaging sender) is the
        phone of the order's customer; False for unknown orders, junk, withheld numbers."""
        return ownership.order_phone_matches(self.engine, order_number, phone)

    def order_postcode_matches(self, order_number: str, postcode: object) -> bool:
        """True when `postcode` (as said or keyed, digits counted) is the delivery postcode."""
        return ownership.order_postcode_matches(self.engine, order_number, postcode)

    def record_failed_verification(
        self, *, order_number: str | None, client: str | None, conversation_id: str
    ) -> None:
        """Count one failed ownership check against the order and the client."""
        verification_limits.record_failed_verification(
            self.engine, self.limits, order_number=order_number, client=client,
            conversation_id=conversation_id)

    def verification_blocked(self, *, order_number: str | None, client: str | None) -> bool:
        """True when too many checks failed for this order or this client, in any conversation
        (store.settings.VerificationLimits); the bot then offers a person instead."""
        return verification_limits.verification_blocked(
            self.engine, self.limits, order_number=order_number, client=client)
