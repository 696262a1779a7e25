"""Widget reconnect: what a widget missed while away is replayed, in order, to the socket that
reconnects, once; in memory and in the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from unittest import mock

import pytest

from rasa_addons import replay as replay_module
from rasa_addons.replay import (
    GRACE_SECONDS,
    MAX_KEPT,
    MemoryWidgetState,
    RedisWidgetState,
    ReplayingOutput,
    WidgetState,
    replay,
)
from tests.support.services import unavailable

REDIS_URL = "redis://127.0.0.1:6379/0"


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str]] = []

    async def emit(self, event: str, data: Any, room: str, namespace: str | None = None) -> None:
        self.emitted.append((event, data, room))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _scenario(state: WidgetState, clock: Clock) -> None:
    sio = RecordingSio()
    output = ReplayingOutput(sio, "bot_uttered", state)
    assert await replay(sio, state, "conv", "sid-1", "bot_uttered") == 0  # a new widget
    await output.send_text_message("conv", "long before")
    clock.now += GRACE_SECONDS + 60
    await output.send_text_message("conv", "just before it left")  # maybe never arrived
    clock.now += 1
    await state.disconnected("conv", "sid-1")
    clock.now += 5
    await output.send_text_message("conv", "agent reply 1")
    await output.send_text_message("conv", "agent reply 2")
    await output.send_text_message("other", "someone else's")
    clock.now += 5
    assert await replay(sio, state, "conv", "sid-2", "bot_uttered") == 3
    replayed = [(data["text"], room) for event, data, room in sio.emitted[-3:]]
    assert replayed == [("just before it left", "sid-2"), ("agent reply 1", "sid-2"),
                        ("agent reply 2", "sid-2")]
    await state.disconnected("conv", "sid-2")
    assert await replay(sio, state, "conv", "sid-3", "bot_uttered") == 0  # replayed once


def _run(state_factory: Any) -> None:
    clock = Clock()
    with mock.patch.object(replay_module.time, "time", clock):
        asyncio.run(_scenario(state_factory(), clock))


def test_memory_state() -> None:
    _run(MemoryWidgetState)


def test_a_server_that_never_saw_the_widget_leave_replays_what_it_sent() -> None:
    async def run() -> list[str]:  # e.g. Rasa restarted while the widget was away
        state, sio = MemoryWidgetState(), RecordingSio()
        await ReplayingOutput(sio, "bot_uttered", state).send_text_message("c", "agent reply")
        await replay(sio, state, "c", "sid", "bot_uttered")
        return [data["text"] for _, data, room in sio.emitted if room == "sid"]

    assert asyncio.run(run()) == ["agent reply"]


def test_records_are_bounded() -> None:
    async def run() -> list[dict[str, Any]]:
        state = MemoryWidgetState()
        for n in range(MAX_KEPT + 5):
            await state.record("conv", {"text": str(n)})
        return await state.take_missed("conv")

    kept = asyncio.run(run())
    assert len(kept) == MAX_KEPT and kept[0]["text"] == "5"


@pytest.mark.redis
def test_redis_state_is_shared_between_replicas() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        unavailable("no Redis server on 127.0.0.1:6379")
    prefix = f"test{uuid.uuid4().hex[:8]}"
    _run(lambda: RedisWidgetState(REDIS_URL, prefix))

    async def across() -> list[str]:
        one, other = RedisWidgetState(REDIS_URL, prefix), RedisWidgetState(REDIS_URL, prefix)
        await one.record("conv2", {"text": "sent by replica one"})
        return [m["text"] for m in await other.take_missed("conv2")]

    assert asyncio.run(across()) == ["sent by replica one"]


def test_a_broken_state_never_costs_the_message() -> None:
    class Broken(MemoryWidgetState):
        async def record(self, conversation: str, message: dict[str, Any]) -> None:
            raise ConnectionError("redis down")

    sio = RecordingSio()
    asyncio.run(ReplayingOutput(sio, "bot_uttered", Broken()).send_text_message("c", "hello"))
    assert [data["text"] for _, data, _ in sio.emitted] == ["hello"]
