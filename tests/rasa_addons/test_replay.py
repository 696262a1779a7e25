"""Widget reconnect: messages for a conversation without a connected widget are kept and
replayed, in order, to the socket that reconnects; in memory and in the real Redis."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from rasa_addons.replay import (
    MAX_PENDING,
    MemoryWidgetState,
    RedisWidgetState,
    ReplayingOutput,
    WidgetState,
    replay,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str]] = []

    async def emit(self, event: str, data: Any, room: str, namespace: str | None = None) -> None:
        self.emitted.append((event, data, room))


async def _scenario(state: WidgetState) -> None:
    sio = RecordingSio()
    output = ReplayingOutput(sio, "bot_uttered", state)
    await state.connected("conv", "sid-1")
    await output.send_text_message("conv", "while connected")
    assert await state.take("conv") == []  # delivered, nothing kept
    await state.disconnected("conv", "sid-1")
    await output.send_text_message("conv", "agent reply 1")
    await output.send_text_message("conv", "agent reply 2")
    await output.send_text_message("other", "someone else's")
    assert await replay(sio, state, "conv", "sid-2", "bot_uttered") == 2
    replayed = [(data["text"], room) for event, data, room in sio.emitted[-2:]]
    assert replayed == [("agent reply 1", "sid-2"), ("agent reply 2", "sid-2")]
    assert await replay(sio, state, "conv", "sid-3", "bot_uttered") == 0  # replayed once
    assert await state.present("conv")
    assert [m["text"] for m in await state.take("other")] == ["someone else's"]


def test_memory_state() -> None:
    asyncio.run(_scenario(MemoryWidgetState()))


def test_pending_messages_are_bounded() -> None:
    async def run() -> list[dict[str, Any]]:
        state = MemoryWidgetState()
        for n in range(MAX_PENDING + 5):
            await state.keep("conv", {"text": str(n)})
        return await state.take("conv")

    kept = asyncio.run(run())
    assert len(kept) == MAX_PENDING and kept[0]["text"] == "5"


@pytest.mark.redis
def test_redis_state_is_shared_between_replicas() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    prefix = f"test{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        await _scenario(RedisWidgetState(REDIS_URL, prefix))
        one, other = RedisWidgetState(REDIS_URL, prefix), RedisWidgetState(REDIS_URL, prefix)
        await one.keep("conv2", {"text": "kept by replica one"})
        assert [m["text"] for m in await other.take("conv2")] == ["kept by replica one"]

    asyncio.run(run())


def test_a_broken_state_never_costs_the_message() -> None:
    class Broken(MemoryWidgetState):
        async def present(self, conversation: str) -> bool:
            raise ConnectionError("redis down")

    sio = RecordingSio()
    asyncio.run(ReplayingOutput(sio, "bot_uttered", Broken()).send_text_message("c", "hello"))
    assert [data["text"] for _, data, _ in sio.emitted] == ["hello"]
