"""Sliding-window message limits: in memory (one server) and in Redis (shared by servers)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from rasa_addons.ratelimit import Limit, MemoryRateLimiter, RedisRateLimiter
from tests.support.services import unavailable

REDIS_URL = "redis://127.0.0.1:6379/15"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limits(session: str = "s1", client: str = "c1") -> list[Limit]:
    return [Limit("session", session, 3, 10.0), Limit("client", client, 5, 60.0)]


def test_a_session_gets_three_messages_per_window_then_room_as_they_age() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for _ in range(3):
        assert limiter.hit_now(limits()).allowed
        clock.now += 1
    refused = limiter.hit_now(limits())
    assert not refused.allowed and refused.scope == "session"
    assert refused.retry_after == pytest.approx(7.0)  # the first of the three ages out at +10 s
    clock.now += 6.9
    assert not limiter.hit_now(limits()).allowed  # refused messages do not extend the wait
    clock.now += 0.2
    assert limiter.hit_now(limits()).allowed


def test_a_client_is_limited_across_sessions() -> None:
    limiter = MemoryRateLimiter(Clock())
    results = [limiter.hit_now(limits(session=f"s{i}")).allowed for i in range(7)]
    assert results == [True] * 5 + [False] * 2
    assert limiter.hit_now(limits(session="s9", client="c2")).allowed
    refused = limiter.hit_now(limits(session="s10"))
    assert refused.scope == "client" and 59 < refused.retry_after <= 60


def test_a_zero_limit_is_off_and_old_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock, max_keys=10)
    off = [Limit("session", "s", 0, 10.0)]
    assert all(limiter.hit_now(off).allowed for _ in range(100))
    for i in range(10):
        limiter.hit_now([Limit("session", f"k{i}", 1, 1.0)])
    clock.now += 5
    limiter.hit_now([Limit("session", "fresh", 1, 1.0)])
    assert len(limiter._hits) == 1  # the ten aged keys were pruned when the table was full


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis at {REDIS_URL} is unreachable: {exc}")


@pytest.mark.redis
def test_two_servers_enforce_one_limit_through_redis() -> None:
    _redis_or_skip()
    prefix = f"test{uuid.uuid4().hex[:8]}"

    async def run() -> list[bool]:
        first = RedisRateLimiter(REDIS_URL, prefix)
        second = RedisRateLimiter(REDIS_URL, prefix)
        try:
            out = []
            for i in range(8):  # alternate servers, as a load balancer would
                server = first if i % 2 == 0 else second
                out.append((await server.hit(limits(session=f"s{i}"))).allowed)
            refused = await second.hit(limits(session="other"))
            assert refused.scope == "client" and 0 < refused.retry_after <= 60
            return out
        finally:
            await first.close()
            await second.close()

    assert asyncio.run(run()) == [True] * 5 + [False] * 3


@pytest.mark.redis
def test_redis_keys_hold_no_session_ids_and_expire() -> None:
    _redis_or_skip()
    import redis

    prefix = f"test{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        limiter = RedisRateLimiter(REDIS_URL, prefix)
        await limiter.hit([Limit("session", "customer-anna-123", 3, 5.0)])
        await limiter.close()

    asyncio.run(run())
    client = redis.Redis.from_url(REDIS_URL)
    keys = [k.decode() for k in client.keys(f"{prefix}:*")]
    assert len(keys) == 1 and "anna" not in keys[0]
    assert 0 < client.pttl(keys[0]) <= 5000


def test_redis_down_falls_back_to_counting_in_this_process() -> None:
    async def run() -> list[bool]:
        limiter = RedisRateLimiter("redis://127.0.0.1:1/0", timeout=0.2)
        try:
            return [(await limiter.hit(limits())).allowed for _ in range(5)]
        finally:
            await limiter.close()

    assert asyncio.run(run()) == [True, True, True, False, False]
