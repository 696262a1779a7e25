"""Failed verifications counted across conversations: per order, per client, in a sliding window
(SQLite and PostgreSQL; several store objects on one database behave as several replicas)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from store.db import make_engine
from store.models import FailedVerification
from store.ownership import (
    locked_by,
    record_failed_verification,
    verification_blocked,
)
from store.repository import OrderStore
from store.settings import StoreSettings, VerificationLimits

LIMITS = VerificationLimits(window_minutes=60, max_per_order=5, max_per_client=10,
                            lock_minutes=30)
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_locked_by_needs_enough_failures_inside_one_window_and_a_recent_last_one() -> None:
    window, lock = timedelta(minutes=60), timedelta(minutes=30)
    five_quick = [minutes(i) for i in range(5)]
    assert locked_by(five_quick, 5, window, lock, now=minutes(5))
    assert not locked_by(five_quick[:4], 5, window, lock, now=minutes(5))
    # Locked until LOCK after the last failure, then free again.
    assert locked_by(five_quick, 5, window, lock, now=minutes(4 + 29))
    assert not locked_by(five_quick, 5, window, lock, now=minutes(4 + 30))
    # Spread over more than the window: never five inside one hour.
    spread = [minutes(i * 20) for i in range(8)]
    assert not locked_by(spread, 5, window, lock, now=minutes(141))
    assert locked_by(spread, 4, window, lock, now=minutes(141))
    assert not locked_by(five_quick, 0, window, lock, now=minutes(5))  # 0: limit off


def test_an_order_is_locked_after_failures_in_many_conversations(database_url: str) -> None:
    engine = make_engine(database_url)
    for i in range(4):
        record_failed_verification(engine, LIMITS, order_number="A10001", client=f"client-{i}",
                                   conversation_id=f"conv-{i}", now=minutes(i))
    assert not verification_blocked(engine, LIMITS, order_number="A10001", client="new",
                                    now=minutes(4))
    # The number was normalised where it entered; the store takes only the canonical form, so
    # another spelling names no order here (its client still counts).
    record_failed_verification(engine, LIMITS, order_number=" a10001 ", client="client-4",
                               conversation_id="conv-4", now=minutes(4))
    assert not verification_blocked(engine, LIMITS, order_number="A10001", client="new",
                                    now=minutes(4))
    record_failed_verification(engine, LIMITS, order_number="A10001", client="client-5",
                               conversation_id="conv-5", now=minutes(4))
    # Any conversation, any client.
    assert verification_blocked(engine, LIMITS, order_number="A10001", client="fresh",
                                now=minutes(5))
    # Other orders are not affected; the lock ends LOCK after the last failure.
    assert not verification_blocked(engine, LIMITS, order_number="A10002", client="fresh",
                                    now=minutes(5))
    assert not verification_blocked(engine, LIMITS, order_number="A10001", client="fresh",
                                    now=minutes(4 + 30))
    engine.dispose()


def test_a_client_is_locked_across_orders(database_url: str) -> None:
    engine = make_engine(database_url)
    for i in range(10):
        record_failed_verification(engine, LIMITS, order_number=f"A2{i:04d}", client="robot",
                                   conversation_id=f"robot-{i}", now=minutes(i))
    assert verification_blocked(engine, LIMITS, order_number="A99999", client="robot",
                                now=minutes(10))
    assert not verification_blocked(engine, LIMITS, order_number="A99999", client="someone",
                                    now=minutes(10))
    engine.dispose()


def test_junk_order_numbers_count_for_the_client_only(database_url: str) -> None:
    engine = make_engine(database_url)
    for i, junk in enumerate(["' OR 1=1 --", "A" * 10_000, "📦", None, "\x00"] * 2):
        record_failed_verification(engine, LIMITS, order_number=junk, client="junk-sender",
                                   conversation_id=f"j-{i}\x00", now=minutes(i))
    record_failed_verification(engine, LIMITS, order_number=None, client=None,
                               conversation_id="nobody", now=minutes(0))
    with engine.connect() as conn:
        rows = conn.execute(select(FailedVerification.order_number,
                                   FailedVerification.conversation_id)).all()
    assert len(rows) == 10  # the row without an order or a client was not stored
    assert {number for number, _ in rows} == {None}
    assert all("\x00" not in conversation for _, conversation in rows)
    assert verification_blocked(engine, LIMITS, order_number=None, client="junk-sender",
                                now=minutes(10))
    engine.dispose()


def test_replicas_share_the_counts_through_the_database(database_url: str) -> None:
    """Two OrderStore objects (two action servers) on one database enforce one limit."""
    limits = VerificationLimits(window_minutes=60, max_per_order=3, max_per_client=100,
                                lock_minutes=60)
    first = OrderStore(make_engine(database_url), verification_limits=limits)
    second = OrderStore(make_engine(database_url), verification_limits=limits)
    first.record_failed_verification(order_number="A10005", client="c1", conversation_id="x1")
    second.record_failed_verification(order_number="A10005", client="c2", conversation_id="x2")
    assert not first.verification_blocked(order_number="A10005", client="c3")
    first.record_failed_verification(order_number="A10005", client="c3", conversation_id="x3")
    assert second.verification_blocked(order_number="A10005", client="c4")
    assert first.verification_blocked(order_number="A10005", client="c4")
    with first.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(FailedVerification)).scalar() == 3
    first.engine.dispose()
    second.engine.dispose()


def test_limits_come_from_the_environment() -> None:
    settings = StoreSettings.from_env({"VERIFY_WINDOW_MINUTES": "15", "VERIFY_MAX_PER_ORDER": "4",
                                       "VERIFY_MAX_PER_CLIENT": "0", "VERIFY_LOCK_MINUTES": "90"})
    assert settings.verification_limits == VerificationLimits(15, 4, 0, 90)
    assert StoreSettings.from_env({}).verification_limits == VerificationLimits()


@pytest.mark.parametrize("env", [{"VERIFY_MAX_PER_ORDER": "many"},
                                 {"VERIFY_WINDOW_MINUTES": "0"},
                                 {"VERIFY_LOCK_MINUTES": "-5"}])
def test_bad_limits_are_named(env: dict[str, str]) -> None:
    from store.errors import StoreError

    with pytest.raises(StoreError, match=next(iter(env))):
        StoreSettings.from_env(env)
