"""Agent replies in one handoff thread stay in order across Slack app processes (the real Redis
on 127.0.0.1:6379; each `ThreadOrder` below has its own locks and client, as a process has)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

import pytest

from bot.listeners.handoff.ordering import ThreadOrder
from bot.listeners.handoff.relay import relay_agent_reply
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.test_listeners import (  # noqa: F401 (fixtures)
    CHANNEL,
    _SlowFirstRasa,
    crm,
    open_handoff,
    reply,
    settings,
    slack,
)
from tests.handoff.test_relay import fake_rasa  # noqa: F401 (fixture)
from tests.support.redis import redis_or_skip

THREAD = "1700000000.000001"


@pytest.fixture()
def redis_client() -> Any:
    client = redis_or_skip(db=5)
    yield client
    client.close()


def _process(prefix: str, **kwargs: float) -> ThreadOrder:
    """What one Slack app process holds: its own stripes and its own Redis connection."""
    url = "redis://127.0.0.1:6379/5"
    order = ThreadOrder(url, prefix, **kwargs)
    assert order.shared
    return order


def _two_replies(crm: OrderStore, slack: FakeSlackApi, rasa_url: str,  # noqa: F811
                 first: ThreadOrder, second: ThreadOrder) -> list[str]:
    open_handoff(crm, THREAD)
    rasa = _SlowFirstRasa()
    config = settings(slack, rasa_url)
    worker = threading.Thread(target=relay_agent_reply,
                              args=(reply("First, let me check."), config, rasa, first))
    worker.start()
    assert rasa.first_started.wait(10)
    assert relay_agent_reply(reply("Found it: it ships today."), config, rasa,  # type: ignore[arg-type]
                             second)
    worker.join(10)
    assert not worker.is_alive()
    return rasa.delivered


def test_replies_relayed_by_two_processes_reach_the_customer_in_order(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str, redis_client: Any,  # noqa: F811
) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    delivered = _two_replies(crm, slack, fake_rasa, _process(prefix),
                             _process(prefix))
    assert delivered == ["First, let me check.", "Found it: it ships today."]
    assert redis_client.keys(f"{prefix}:*") == []  # released


def test_without_redis_two_processes_do_not_order_replies(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str,  # noqa: F811
) -> None:
    # what the shared lock is for: each process's own locks alone let the quick reply overtake
    first, second = ThreadOrder(), ThreadOrder()
    assert not first.shared
    delivered = _two_replies(crm, slack, fake_rasa, first, second)
    assert delivered == ["Found it: it ships today.", "First, let me check."]


def test_a_long_relay_keeps_its_lock_past_the_ttl(redis_client: Any) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    order = _process(prefix, ttl=0.3, wait=5)
    other = _process(prefix, ttl=0.3, wait=0)
    key = order.key(CHANNEL, THREAD)
    with order.hold(CHANNEL, THREAD):
        time.sleep(1.0)  # three times the ttl: renewed meanwhile
        assert redis_client.pttl(key) > 0
        started = time.monotonic()
        entered = threading.Event()

        def try_other() -> None:
            with other.hold(CHANNEL, THREAD):
                entered.set()

        # another process does not get the lock (wait=0: it goes on without it, logged)
        thread = threading.Thread(target=try_other)
        thread.start()
        thread.join(5)
        assert entered.is_set() and time.monotonic() - started < 2
        assert redis_client.exists(key)  # still ours
    assert not redis_client.exists(key)


def test_the_lock_of_a_process_that_died_expires(
        redis_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    order = _process(prefix, ttl=0.5, wait=10)
    redis_client.set(order.key(CHANNEL, THREAD), b"dead-process-token", px=500)
    started = time.monotonic()
    with order.hold(CHANNEL, THREAD):
        waited = time.monotonic() - started
    assert 0.3 <= waited < 5
    assert "relaying without" not in caplog.text


def test_a_lock_held_too_long_is_waited_for_only_so_long(
        redis_client: Any, caplog: pytest.LogCaptureFixture) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    order = _process(prefix, ttl=5, wait=0.3)
    key = order.key(CHANNEL, THREAD)
    redis_client.set(key, b"another-process", ex=60)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING), order.hold(CHANNEL, THREAD):
        waited = time.monotonic() - started
    assert 0.25 <= waited < 3
    assert "relaying without it" in caplog.text
    assert redis_client.get(key) == b"another-process"  # not ours to release
    redis_client.delete(key)


def test_unreachable_redis_relays_anyway(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str,  # noqa: F811
        caplog: pytest.LogCaptureFixture,
) -> None:
    order = ThreadOrder("redis://127.0.0.1:9/0", "test")  # nothing listens on port 9
    open_handoff(crm, THREAD)
    rasa = _SlowFirstRasa()
    with caplog.at_level(logging.WARNING):
        assert relay_agent_reply(reply("Hej!"), settings(slack, fake_rasa), rasa,  # type: ignore[arg-type]
                                 order)
    assert rasa.delivered == ["Hej!"]
    assert "Redis unavailable for the handoff relay's order" in caplog.text


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"ttl": -1}, {"wait": -1}])
def test_bad_timings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="ttl > 0 and wait >= 0"):
        ThreadOrder(**kwargs)


def test_a_malformed_redis_url_orders_within_the_process_and_says_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from bot.listeners.handoff import ordering

    monkeypatch.setenv("REDIS_URL", "notaurl")
    ordering.thread_order.cache_clear()
    try:
        with caplog.at_level(logging.ERROR):
            order = ordering.thread_order()
        assert not order.shared
        assert "REDIS_URL is not usable" in caplog.text and "notaurl" not in caplog.text
        with order.hold(CHANNEL, THREAD):
            pass
    finally:
        ordering.thread_order.cache_clear()
