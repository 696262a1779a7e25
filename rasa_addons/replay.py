"""Widget reconnect: bot messages sent while a customer's widget was away reach it on return.

A widget with session persistence joins the socket.io room named after its conversation; Rasa
emits every bot message (and every agent reply relayed with `trigger_intent`) to that room. A
message emitted while no socket of the conversation is connected (a reload, a lost network, a
restarted Rasa server, the widget moving to another Rasa replica) is lost to the widget, though
it is in the tracker. And a socket that went away without a goodbye (a lost network) still
looks connected until the server's ping times out. So:

- `ReplayingOutput` (the socket.io output channel) emits as before and records each message
  with the time it was sent;
- when the conversation's last socket disconnects, the time is noted;
- on `session_request` (the widget's reconnect) the channel emits to the new socket every
  recorded message sent after (disconnect time - GRACE_SECONDS), or every recorded one when
  this server never saw the widget leave (it restarted meanwhile), and forgets them. GRACE is
  how long a dead socket can go unnoticed (the ping interval plus timeout the channel sets).

Records live in Redis when REDIS_URL is set (shared by every Rasa replica and kept across
restarts; keys `<RATE_LIMIT_PREFIX>:widget:*`, expiring after a day), in the process's memory
otherwise. With several replicas the socket.io servers also share a Redis message queue, so a
message emitted by one replica reaches a widget connected to another.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from typing import Any, Protocol

import socketio
from rasa.core.channels.socketio import SocketIOOutput
from redis import asyncio as aioredis

logger = logging.getLogger(__name__)

KEEP_SECONDS = 24 * 3600
MAX_KEPT = 200  # per conversation; the oldest are dropped beyond this
PING_INTERVAL_SECONDS = 10
PING_TIMEOUT_SECONDS = 10
GRACE_SECONDS = PING_INTERVAL_SECONDS + PING_TIMEOUT_SECONDS


class WidgetState(Protocol):
    """Which conversations have a connected widget, when it left, and what was sent."""

    async def connected(self, conversation: str, sid: str) -> None: ...

    async def disconnected(self, conversation: str, sid: str) -> None: ...

    async def record(self, conversation: str, message: dict[str, Any]) -> None: ...

    async def take_missed(self, conversation: str) -> list[dict[str, Any]]: ...


def _missed(kept: list[tuple[float, dict[str, Any]]], left_at: float | None,
            now: float) -> tuple[list[dict[str, Any]], list[tuple[float, dict[str, Any]]]]:
    """(messages to replay, records to keep)."""
    since = float("-inf") if left_at is None else left_at - GRACE_SECONDS
    fresh = [(at, m) for at, m in kept if now - at < KEEP_SECONDS]
    return [m for at, m in fresh if at > since], [(at, m) for at, m in fresh if at <= since]


class MemoryWidgetState:
    """One process's view (a single Rasa server without Redis)."""

    def __init__(self) -> None:
        self._sockets: dict[str, set[str]] = defaultdict(set)
        self._left_at: dict[str, float] = {}
        self._kept: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)

    async def connected(self, conversation: str, sid: str) -> None:
        self._sockets[conversation].add(sid)

    async def disconnected(self, conversation: str, sid: str) -> None:
        sockets = self._sockets.get(conversation)
        if sockets is not None:
            sockets.discard(sid)
            if not sockets:
                del self._sockets[conversation]
                self._left_at[conversation] = time.time()

    async def record(self, conversation: str, message: dict[str, Any]) -> None:
        kept = self._kept[conversation]
        kept.append((time.time(), message))
        del kept[:-MAX_KEPT]

    async def take_missed(self, conversation: str) -> list[dict[str, Any]]:
        now = time.time()
        left_at = self._left_at.pop(conversation, None)
        if self._sockets.get(conversation):  # an old socket not yet noticed as gone
            left_at = now
        missed, rest = _missed(self._kept.pop(conversation, []), left_at, now)
        self._kept[conversation] = rest
        return missed


class RedisWidgetState:
    """Shared by every Rasa replica; survives a restart of any of them."""

    def __init__(self, redis_url: str, prefix: str = "nordvik", client: Any = None) -> None:
        if client is None:
            client = aioredis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client
        self._prefix = prefix

    def _key(self, kind: str, conversation: str) -> str:
        return f"{self._prefix}:widget:{kind}:{conversation}"

    async def connected(self, conversation: str, sid: str) -> None:
        key = self._key("sockets", conversation)
        await self._redis.sadd(key, sid)
        await self._redis.expire(key, KEEP_SECONDS)

    async def disconnected(self, conversation: str, sid: str) -> None:
        key = self._key("sockets", conversation)
        await self._redis.srem(key, sid)
        if not await self._redis.scard(key):
            await self._redis.set(self._key("left", conversation), str(time.time()),
                                  ex=KEEP_SECONDS)

    async def record(self, conversation: str, message: dict[str, Any]) -> None:
        key = self._key("sent", conversation)
        await self._redis.rpush(key, json.dumps({"at": time.time(), "message": message}))
        await self._redis.ltrim(key, -MAX_KEPT, -1)
        await self._redis.expire(key, KEEP_SECONDS)

    async def take_missed(self, conversation: str) -> list[dict[str, Any]]:
        sent, left = self._key("sent", conversation), self._key("left", conversation)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.lrange(sent, 0, -1)
            pipe.get(left)
            pipe.scard(self._key("sockets", conversation))
            pipe.delete(sent, left)
            raw, left_at, sockets, _ = await pipe.execute()
        now = time.time()
        since_left = float(left_at) if left_at else None
        if sockets:  # an old socket not yet noticed as gone (or on a replica that died)
            since_left = now
        items = [json.loads(item) for item in raw]
        missed, rest = _missed([(float(i["at"]), i["message"]) for i in items], since_left, now)
        if rest:
            await self._redis.rpush(sent, *[json.dumps({"at": at, "message": m})
                                            for at, m in rest])
            await self._redis.expire(sent, KEEP_SECONDS)
        return missed


def widget_state(redis_url: str | None, prefix: str = "nordvik") -> WidgetState:
    return RedisWidgetState(redis_url, prefix) if redis_url else MemoryWidgetState()


def client_manager(redis_url: str | None) -> Any:
    """socket.io's Redis message queue when several Rasa servers share REDIS_URL, else None
    (python-socketio's in-process manager)."""
    if not redis_url:
        return None
    return socketio.AsyncRedisManager(redis_url, channel="nordvik-socketio")


class ReplayingOutput(SocketIOOutput):
    """Rasa's socket.io output; every message is also recorded for a widget that returns."""

    def __init__(self, sio: Any, bot_message_evt: str, state: WidgetState) -> None:
        super().__init__(sio, bot_message_evt)
        self.state = state

    async def _send_message(self, socket_id: str, response: Any) -> None:
        try:
            await self.state.record(socket_id, dict(response))
        except Exception:  # noqa: BLE001 - the widget state must never cost the message
            logger.warning("could not record a message for the widget's return", exc_info=True)
        await super()._send_message(socket_id, response)


async def replay(sio: Any, state: WidgetState, conversation: str, sid: str,
                 bot_message_evt: str, namespace: str | None = None) -> int:
    """After the widget's socket `sid` joined `conversation`: send what it missed."""
    try:
        missed = await state.take_missed(conversation)
        await state.connected(conversation, sid)
    except Exception:  # noqa: BLE001 - a reconnect must work even without the state
        logger.warning("widget state unavailable; nothing replayed", exc_info=True)
        return 0
    for message in missed:
        await sio.emit(bot_message_evt, message, room=sid, namespace=namespace)
    if missed:
        logger.info("replayed %s messages to a reconnected widget", len(missed))
    return len(missed)
