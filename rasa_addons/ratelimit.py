"""Who is asking and how often: the client behind a customer message, without keeping its
address, and sliding-window message limits, in this process or shared by every Rasa server
through Redis.

    client_address(request)          -> "203.0.113.7"
    client_pseudonym("203.0.113.7")  -> a keyed hash (nordvik.secrets.pseudonym, purpose "client")
    message_language("hej", "sv-SE") -> "sv" (the page's language, else detected; for the reply)

The address is Sanic's `request.remote_addr` when Sanic is told to trust a proxy in front of it
(SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET; `make run` sets
SANIC_PROXIES_COUNT=1 behind HAProxy), else the peer of the connection. Without such a setting a
client cannot choose its address by sending `X-Forwarded-For`.

    limiter = create_limiter(settings)
    decision = await limiter.hit([Limit("session", sender_id, 20, 60.0),
                                  Limit("client", client, 60, 60.0)])
    decision.allowed, decision.retry_after, decision.scope

A message counts against every limit it is checked against, and only when all of them allow it:
a refused message does not extend the wait. With Redis the check-and-count is one Lua script (the
Redis server's clock), so several Rasa servers behind a load balancer enforce one limit together.
When Redis cannot be reached, the limiter falls back to counting in this process (logged), so a
Redis outage neither opens the limits entirely nor makes the channel fail.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from nordvik.languages import DEFAULT_LANGUAGE, detect_language_or_none, normalize_language
from nordvik.secrets import pseudonym
from nordvik.text import normalize
from rasa_addons.settings import ChannelSettings

logger = logging.getLogger(__name__)

# --- Who is asking: the client, without its address, and the message's language ---

_LANGUAGE_SAMPLE = 500


def client_address(request: Any) -> str:
    """The client's address as Sanic trusts it: the proxied address, else the peer."""
    if request is None:
        return "unknown"
    forwarded = getattr(request, "remote_addr", "") or ""
    return str(forwarded or getattr(request, "ip", "") or "unknown")


@functools.lru_cache(maxsize=4096)
def client_pseudonym(address: str) -> str:
    """A stable keyed hash of the client address: what the metadata and the limits use."""
    return pseudonym(address, purpose="client")


def message_language(text: str, hinted: object = None) -> str:
    """The customer's language: the widget's page language when it sent one, else detected."""
    return (
        normalize_language(hinted)
        or detect_language_or_none(normalize(text[:_LANGUAGE_SAMPLE]))
        or DEFAULT_LANGUAGE
    )


# --- How often: sliding-window limits ---

MAX_TRACKED_KEYS = 200_000


@dataclass(frozen=True)
class Limit:
    """At most `max_hits` messages per `window_seconds` for one key of one scope."""

    scope: str  # "session" or "client"
    key: str
    max_hits: int
    window_seconds: float

    @property
    def active(self) -> bool:
        return self.max_hits > 0 and bool(self.key)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds until the refusing limit has room again
    scope: str | None = None  # which limit refused


ALLOWED = Decision(True)


class RateLimiter(Protocol):
    async def hit(self, limits: Sequence[Limit]) -> Decision:
        """Count one message against `limits` if all of them have room; else refuse it."""


class MemoryRateLimiter:
    """Counts in this process (one Rasa server); timestamps per key, pruned as they age."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_TRACKED_KEYS) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._windows: dict[tuple[str, str], float] = {}

    def _prune(self, now: float) -> None:
        for name in [n for n, hits in self._hits.items()
                     if not hits or hits[-1] <= now - self._windows[n]]:
            del self._hits[name]
            del self._windows[name]

    async def hit(self, limits: Sequence[Limit]) -> Decision:
        return self.hit_now(limits)

    def hit_now(self, limits: Sequence[Limit]) -> Decision:
        now = self._clock()
        active = [limit for limit in limits if limit.active]
        for limit in active:
            hits = self._hits.get((limit.scope, limit.key))
            if hits is None:
                continue
            while hits and hits[0] <= now - limit.window_seconds:
                hits.popleft()
            if len(hits) >= limit.max_hits:
                retry = hits[len(hits) - limit.max_hits] + limit.window_seconds - now
                return Decision(False, max(0.0, retry), limit.scope)
        if len(self._hits) >= self._max_keys:
            self._prune(now)
        for limit in active:
            name = (limit.scope, limit.key)
            self._hits.setdefault(name, deque()).append(now)
            self._windows[name] = limit.window_seconds
        return ALLOWED


# KEYS: one sorted set per limit. ARGV: member, then max_hits and window (ms) per key.
# Returns {1} when counted, {0, index of the refusing key (1-based), retry in ms} when refused.
_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local max_hits = tonumber(ARGV[2 * i])
  local window = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count >= max_hits then
    local oldest = redis.call('ZRANGE', key, count - max_hits, count - max_hits, 'WITHSCORES')
    local retry = window
    if oldest[2] then retry = tonumber(oldest[2]) + window - now end
    return {0, i, retry}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('PEXPIRE', key, tonumber(ARGV[2 * i + 1]))
end
return {1}
"""


class RedisRateLimiter:
    """Counts in Redis, shared by every Rasa server; falls back to memory when Redis is down."""

    def __init__(self, redis_url: str, prefix: str = "nordvik",
                 fallback: MemoryRateLimiter | None = None, timeout: float = 0.5) -> None:
        self._client: Any = aioredis.Redis.from_url(
            redis_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script: Any = self._client.register_script(_LUA)
        self._prefix = prefix
        self._fallback = fallback or MemoryRateLimiter()
        self._warned_at = -1e9

    def key(self, limit: Limit) -> str:
        digest = hashlib.sha256(limit.key.encode("utf-8")).hexdigest()[:32]
        return f"{self._prefix}:ratelimit:{limit.scope}:{digest}"

    async def hit(self, limits: Sequence[Limit]) -> Decision:
        active = [limit for limit in limits if limit.active]
        if not active:
            return ALLOWED
        args: list[Any] = [uuid.uuid4().hex]
        for limit in active:
            args += [limit.max_hits, max(1, int(limit.window_seconds * 1000))]
        try:
            result = await self._script(keys=[self.key(limit) for limit in active], args=args)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                logger.warning("rate limits counted in this process: Redis unavailable (%s)",
                               type(exc).__name__)
            return self._fallback.hit_now(limits)
        if int(result[0]) == 1:
            return ALLOWED
        refusing = active[int(result[1]) - 1]
        return Decision(False, max(0.0, int(result[2]) / 1000.0), refusing.scope)

    async def close(self) -> None:
        await self._client.close()


def create_limiter(settings: ChannelSettings) -> RateLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, settings.rate_limit_prefix)
    return MemoryRateLimiter()
