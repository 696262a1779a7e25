"""Failed order verifications counted across conversations, servers and restarts.

Three wrong e-mails end one conversation's look-ups (actions/verification.py). These limits hold
across conversations: every failed check is a row (order number, client, conversation), and an
order number or a client is *locked* when it had MAX failures within any WINDOW, the last of
them less than LOCK ago (store.settings.VerificationLimits). The rows live in the store's
database, so every action server replica sees the same counts.

    record_failed_verification(engine, limits, order_number="A10001", client="9f2c...",
                               conversation_id="abc")
    verification_blocked(engine, limits, order_number="A10001", client="9f2c...") -> bool

Order numbers are normalised (junk counts for the client only); clients are the channels'
keyed hashes of the address (metadata `client`), never addresses.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine

from nordvik.orders import canonical_order_number
from store.db import session_scope
from store.models import FailedVerification, utcnow
from store.settings import VerificationLimits

logger = logging.getLogger(__name__)

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
