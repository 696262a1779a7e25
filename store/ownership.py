"""Proving that an order is the customer's, and the limits on failed guesses.

    OwnershipProofs.verify_order("A10001", "anna@example.se") -> OrderDetails | None
        the e-mail on the order (every channel)
    order_phone_matches(engine, "A10001", "+46701112233") -> bool
        the channel-proven number (E.164: the phone channel's caller ID, a messaging app's
        sender) is the phone of the order's customer (nordvik.phones, the customer's country
        as the region of a number stored without "+")
    order_postcode_matches(engine, "A10001", "111 22") -> bool
        the postcode of the order's delivery address, digits only

A wrong pair, an unknown order and junk input all give the same answer, after the same work:
the e-mail is compared in constant time, against a dummy address when there is no such order.
The phone and the postcode checks answer False for an unknown order, junk input, a withheld
number or a customer without a phone, and do the same work as for a match; comparisons are in
constant time.

The postcode is read from the delivery address as the seed and the shop write it: after the
last comma ("Storgatan 1, 111 22 Stockholm" -> "11122", "Karl Johans gate 5, 0150 Oslo" ->
"0150"), or at the start when there is no comma ("100 台北市..." -> "100").

Failed checks are counted across conversations, servers and restarts. Three wrong e-mails end
one conversation's look-ups (actions/verification.py). These limits hold across conversations:
every failed check is a row (order number, client, conversation), and an order number or a
client is *locked* when it had MAX failures within any WINDOW, the last of them less than LOCK
ago (store.settings.VerificationLimits). The rows live in the store's database, so every action
server replica sees the same counts.

    record_failed_verification(engine, limits, order_number="A10001", client="9f2c...",
                               conversation_id="abc")
    verification_blocked(engine, limits, order_number="A10001", client="9f2c...") -> bool

In the limits, order numbers are normalised (junk counts for the client only); clients are the
channels' keyed hashes of the address (metadata `client`), never addresses.

``OwnershipProofs`` (the store's ``proofs`` part) holds these checks and their limits for one
database.
"""

from __future__ import annotations

import hmac
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nordvik.orders import canonical_order_number
from nordvik.phones import normalize_phone
from nordvik.text import normalize_email
from store.db import session_scope
from store.models import Customer, FailedVerification, Order, utcnow
from store.settings import VerificationLimits
from store.views import OrderDetails

logger = logging.getLogger(__name__)

# ------------------------------------------------------------------ the e-mail on the order

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


# ------------------------------------------------------------------ the phone and the postcode

_POSTCODE = re.compile(r"[0-9](?:[0-9]| (?=[0-9]))+[0-9]", re.ASCII)
_DUMMY = "+00000000000"
MAX_POSTCODE_CHARS = 40


def postcode_of(address: str | None) -> str | None:
    """The postcode of a delivery address, digits only; None when none can be found."""
    if not address:
        return None
    text = unicodedata.normalize("NFKC", address)
    part = text.rsplit(",", 1)[1] if "," in text else text
    found = _POSTCODE.search(part)
    return None if found is None else found.group(0).replace(" ", "")


def spoken_postcode(value: object) -> str | None:
    """The digits of a postcode as said or keyed ("111 22", "1 1 1 2 2", "１１１２２")."""
    if not isinstance(value, str) or len(value) > MAX_POSTCODE_CHARS:
        return None
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit())
    return digits if digits.isascii() and 3 <= len(digits) <= 10 else None


def order_phone_matches(engine: Engine, order_number: str | None, phone: str | None) -> bool:
    number = canonical_order_number(order_number)
    given = normalize_phone(phone, region=None)
    if number is None:
        return False
    with session_scope(engine) as session:
        row = session.execute(
            select(Customer.phone, Customer.country)
            .join(Order, Order.customer_id == Customer.id).where(Order.number == number)
        ).first()
    stored = normalize_phone(row[0], row[1]) if row is not None else None
    matched = hmac.compare_digest((stored or _DUMMY).encode(), (given or _DUMMY).encode())
    return matched and stored is not None and given is not None


def order_postcode_matches(engine: Engine, order_number: str | None, postcode: object) -> bool:
    number = canonical_order_number(order_number)
    given = spoken_postcode(postcode)
    if number is None:
        return False
    with session_scope(engine) as session:
        address = session.execute(
            select(Order.shipping_address).where(Order.number == number)).scalar_one_or_none()
    stored = postcode_of(address)
    matched = hmac.compare_digest((stored or "-").encode(), (given or "+").encode())
    return matched and stored is not None


# ------------------------------------------------------------------ limits on failed checks

MAX_CLIENT_CHARS = 64
MAX_ROWS_SCANNED = 1000


def _client(value: str | None) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:MAX_CLIENT_CHARS]


def _conversation(value: object) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return text.replace("\x00", "").strip()[:200] or "unknown"


def locked_by(times: Sequence[datetime], max_failures: int, window: timedelta,
              lock: timedelta, now: datetime) -> bool:
    """True when `max_failures` of `times` (oldest first) fall within one `window` whose last
    failure is less than `lock` before `now`."""
    if max_failures <= 0 or len(times) < max_failures:
        return False
    for last in range(len(times) - 1, max_failures - 2, -1):
        if now - times[last] >= lock:
            return False  # older windows ended even earlier
        if times[last] - times[last - max_failures + 1] <= window:
            return True
    return False


def record_failed_verification(
    engine: Engine, limits: VerificationLimits, *, order_number: str | None, client: str | None,
    conversation_id: str, now: datetime | None = None,
) -> None:
    """One failed order-number/e-mail check. Nothing is stored without an order or a client."""
    number = canonical_order_number(order_number)
    who = _client(client)
    if number is None and who is None:
        return
    with session_scope(engine, write=True) as session:
        session.add(FailedVerification(
            order_number=number, client=who, conversation_id=_conversation(conversation_id),
            created_at=now or utcnow(),
        ))
    logger.info("failed order verification recorded (order %s)", number or "unreadable")


def _times(engine: Engine, column: object, value: str, since: datetime) -> list[datetime]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(FailedVerification.created_at)
            .where(column == value, FailedVerification.created_at >= since)  # type: ignore[operator]
            .order_by(FailedVerification.created_at.desc())
            .limit(MAX_ROWS_SCANNED)
        ).scalars().all()
    return sorted(rows)


def verification_blocked(
    engine: Engine, limits: VerificationLimits, *, order_number: str | None,
    client: str | None, now: datetime | None = None,
) -> bool:
    """True when the order number or the client is locked for chat verification."""
    moment = now or utcnow()
    window = timedelta(minutes=limits.window_minutes)
    lock = timedelta(minutes=limits.lock_minutes)
    since = moment - window - lock
    number = canonical_order_number(order_number)
    if number is not None and limits.max_per_order > 0 and locked_by(
        _times(engine, FailedVerification.order_number, number, since),
        limits.max_per_order, window, lock, moment,
    ):
        logger.debug("order %s is locked for chat verification", number)
        return True
    who = _client(client)
    if who is not None and limits.max_per_client > 0 and locked_by(
        _times(engine, FailedVerification.client, who, since),
        limits.max_per_client, window, lock, moment,
    ):
        logger.debug("a client is locked for chat verification")
        return True
    return False


# ------------------------------------------------------------------ all of them, for one database


class OwnershipProofs:
    """The ownership checks of one database, and their limits (the module's functions of the
    same names, on this engine and these limits)."""

    def __init__(self, engine: Engine, *, limits: VerificationLimits,
                 read_order: OrderReader) -> None:
        self.engine = engine
        self.limits = limits
        self._read_order = read_order

    def verify_order(
        self, order_number: str, email: str, *, today: date | None = None
    ) -> OrderDetails | None:
        """The order when the e-mail is the one on the order; None otherwise (indistinguishably).
        `order_number` in canonical form (nordvik.orders)."""
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
        return order_phone_matches(self.engine, order_number, phone)

    def order_postcode_matches(self, order_number: str, postcode: object) -> bool:
        """True when `postcode` (as said or keyed, digits counted) is the delivery postcode."""
        return order_postcode_matches(self.engine, order_number, postcode)

    def record_failed_verification(
        self, *, order_number: str | None, client: str | None, conversation_id: str
    ) -> None:
        """Count one failed ownership check against the order and the client."""
        record_failed_verification(
            self.engine, self.limits, order_number=order_number, client=client,
            conversation_id=conversation_id)

    def verification_blocked(self, *, order_number: str | None, client: str | None) -> bool:
        """True when too many checks failed for this order or this client, in any conversation
        (store.settings.VerificationLimits); the bot then offers a person instead."""
        return verification_blocked(
            self.engine, self.limits, order_number=order_number, client=client)
