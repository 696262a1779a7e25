"""The lock store on the real Redis: a message whose turn expired while it waited behind a dead
replica's ticket goes ahead, where Rasa's own lock store waits for it forever."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from rasa.core.lock_store import LockStore
from rasa.core.lock_store import RedisLockStore as RasaRedisLockStore
from rasa.utils.endpoints import EndpointConfig

from rasa_addons.lock_store import RedisLockStore
from tests.support.redis import redis_or_skip

pytestmark = pytest.mark.redis

LIFETIME = 1.0
POLL = 1.5  # the waiter looks again only after both tickets have expired


@pytest.fixture()
def prefix() -> Iterator[str]:
    client = redis_or_skip(db=5)
    key_prefix = f"locktest{uuid.uuid4().hex[:10]}"
    yield key_prefix
    keys = client.keys(f"{key_prefix}*")
    if keys:
        client.delete(*keys)


async def _turn_after_a_dead_replica(store: RasaRedisLockStore) -> str:
    """A dead replica's ticket holds the conversation; a message then waits for its turn."""
    store.issue_ticket("conv", LIFETIME)  # never released: its replica was SIGKILLed
    async with store.lock("conv", lock_lifetime=LIFETIME, wait_time_in_seconds=POLL):
        return "handled"


async def test_a_message_whose_turn_expired_while_waiting_goes_ahead(prefix: str) -> None:
    store = RedisLockStore(host="127.0.0.1", port=6379, db=5, key_prefix=prefix)
    assert await asyncio.wait_for(_turn_after_a_dead_replica(store), timeout=10) == "handled"
    after = store.get_lock("conv")
    assert after is None or not after.tickets  # nothing left behind


async def test_rasas_own_lock_store_waits_forever_there(prefix: str) -> None:
    """Why the subclass exists: the same sequence hangs Rasa 3.6's RedisLockStore."""
    store = RasaRedisLockStore(host="127.0.0.1", port=6379, db=5, key_prefix=prefix)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(_turn_after_a_dead_replica(store), timeout=3 * POLL + LIFETIME)


async def test_a_held_lock_still_makes_the_next_message_wait(prefix: str) -> None:
    store = RedisLockStore(host="127.0.0.1", port=6379, db=5, key_prefix=prefix)
    order: list[str] = []

    async def first() -> None:
        async with store.lock("conv", lock_lifetime=30, wait_time_in_seconds=0.05):
            order.append("first in")
            await asyncio.sleep(0.4)
            order.append("first out")

    async def second() -> None:
        await asyncio.sleep(0.1)
        async with store.lock("conv", lock_lifetime=30, wait_time_in_seconds=0.05):
            order.append("second in")

    await asyncio.wait_for(asyncio.gather(first(), second()), timeout=10)
    assert order == ["first in", "first out", "second in"]


def test_rasa_creates_it_from_the_endpoint_config(prefix: str) -> None:
    config = EndpointConfig(url="127.0.0.1", type="rasa_addons.lock_store.RedisLockStore",
                            port=6379, db=5, key_prefix=prefix)
    store = LockStore.create(config)
    assert isinstance(store, RedisLockStore)
    assert store.key_prefix.startswith(prefix)
