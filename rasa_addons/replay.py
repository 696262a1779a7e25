"""Widget reconnect: bot messages sent while a customer's widget was away reach it on return.

A widget with session persistence joins the socket.io room named after its conversation; Rasa
emits every bot message (and every agent reply relayed with `trigger_intent`) to that room. A
message emitted while no socket of the conversation is connected (a reload, a lost network, a
restarted Rasa server, the widget moving to another Rasa replica) is lost to the widget, though
it is in the tracker. Here:

- `ReplayingOutput` (the socket.io output channel) emits as before and, when the conversation
  has no connected widget, also keeps the message as pending;
- on `session_request` (the widget's reconnect) the channel joins the room, then emits the
  pending messages to the new socket, oldest first, and forgets them.

Pending messages and connected conversations live in Redis when REDIS_URL is set (shared by
every Rasa replica and kept across restarts; keys `<RATE_LIMIT_PREFIX>:widget:*`, expiring after
a day), in the process's memory otherwise. With several replicas the socket.io servers also
share a Redis message queue, so a message emitted by one replica reaches a widget connected to
another.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from typing import Any, Protocol

from rasa.core.channels.socketio import SocketIOOutput

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
MAX_PENDING = 200  # per conversation; the oldest are dropped beyond this


class WidgetState(Protocol):
    """Which conversations have a connected widget, and what waits for the others."""

    async def connected(self, conversation: str, sid: str) -> None: ...

    async def disconnected(self, conversation: str, sid: str) -> None: ...

    async def present(self, conversation: str) -> bool: ...

    async def keep(self, conversation: str, message: dict[str, Any]) -> None: ...

    async def take(self, conversation: str) -> list[dict[str, Any]]: ...


class MemoryWidgetState:
    """One process's view (a single Rasa server without Redis)."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = defaultdict(set)
        self._pending: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)

    async def connected(self, conversation: str, sid: str) -> None:
        self._sockets[conversation].add(sid)

    async def disconnected(self, conversation: str, sid: str) -> None:
        sockets = self._sockets.get(conversation)
        if sockets is not None:
            sockets.discard(sid)
            if not sockets:
                del self._sockets[conversation]

    async def present(self, conversation: str) -> bool:
        return bool(self._sockets.get(conversation))

    async def keep(self, conversation: str, message: dict[str, Any]) -> None:
        now = time.monotonic()
        kept = [(at, m) for at, m in self._pending[conversation] if now - at < KEEP_SECONDS]
        kept.append((now, message))
        self._pending[conversation] = kept[-MAX_PENDING:]

    async def take(self, conversation: str) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [m for at, m in self._pending.pop(conversation, []) if now - at < KEEP_SECONDS]


class RedisWidgetState:
    """Shared by every Rasa replica; survives a restart of any of them."""

    def __init__(self, redis_url: str, prefix: str = "nordvik", client: Any = None) -> None:
        if client is None:
            from redis import asyncio as aioredis

            client = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client
        self._prefix = prefix

    def _sockets(self, conversation: str) -> str:
        return f"{self._prefix}:widget:sockets:{conversation}"

    def _pending(self, conversation: str) -> str:
        return f"{self._prefix}:widget:pending:{conversation}"

    async def connected(self, conversation: str, sid: str) -> None:
        key = self._sockets(conversation)
        await self._redis.sadd(key, sid)
        await self._redis.expire(key, KEEP_SECONDS)

    async def disconnected(self, conversation: str, sid: str) -> None:
        await self._redis.srem(self._sockets(conversation), sid)

    async def present(self, conversation: str) -> bool:
        return bool(await self._redis.scard(self._sockets(conversation)))

    async def keep(self, conversation: str, message: dict[str, Any]) -> None:
        key = self._pending(conversation)
        await self._redis.rpush(key, json.dumps(message))
        await self._redis.ltrim(key, -MAX_PENDING, -1)
        await self._redis.expire(key, KEEP_SECONDS)

    async def take(self, conversation: str) -> list[dict[str, Any]]:
        key = self._pending(conversation)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            raw, _ = await pipe.execute()
        return [json.loads(item) for item in raw]


def widget_state(redis_url: str | None, prefix: str = "nordvik") -> WidgetState:
    return RedisWidgetState(redis_url, prefix) if redis_url else MemoryWidgetState()


def client_manager(redis_url: str | None) -> Any:
    """socket.io's Redis message queue when several Rasa servers share REDIS_URL, else None
    (python-socketio's in-process manager)."""
    if not redis_url:
        return None
    import socketio

    return socketio.AsyncRedisManager(redis_url, channel="nordvik-socketio")


class ReplayingOutput(SocketIOOutput):
    """Rasa's socket.io output; a message for a conversation without a connected widget is also
    kept for its next session_request."""

    def __init__(self, sio: Any, bot_message_evt: str, state: WidgetState) -> None:
        super().__init__(sio, bot_message_evt)
        self.state = state

    async def _send_message(self, socket_id: str, response: Any) -> None:
        try:
            if not await self.state.present(socket_id):
                await self.state.keep(socket_id, dict(response))
        except Exception:  # noqa: BLE001 - the widget state must never cost the message
            logger.warning("could not keep a message for the widget's return", exc_info=True)
        await super()._send_message(socket_id, response)


async def replay(sio: Any, state: WidgetState, conversation: str, sid: str,
                 bot_message_evt: str, namespace: str | None = None) -> int:
    """After the widget's socket `sid` joined `conversation`: record it, send what it missed."""
    try:
        await state.connected(conversation, sid)
        missed = await state.take(conversation)
    except Exception:  # noqa: BLE001 - a reconnect must work even without the state
        logger.warning("widget state unavailable; nothing replayed", exc_info=True)
        return 0
    for message in missed:
        await sio.emit(bot_message_evt, message, room=sid, namespace=namespace)
    if missed:
        logger.info("replayed %s messages to a reconnected widget", len(missed))
    return len(missed)
