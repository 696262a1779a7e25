"""One agent reply per handoff thread at a time, in this process and across Slack app processes.

Bolt runs each event's listener on its own worker thread, and with several Slack app processes
behind a balancer (which `RedisEventDedupe` in bot/services.py is for) two quick replies in one
thread may reach different processes. Either way the second must not reach the customer before
the first, slower one.

- In a process: one lock per Slack thread (striped: a bounded set of locks), taken in the order
  the listeners start.
- Across processes (REDIS_URL set): a Redis lock per thread (`<prefix>:slack:relay:<channel>/
  <thread_ts>`), taken after the process's own. It expires ``ttl`` seconds after its last
  renewal, so a process that dies holding it blocks the thread for at most that long; while a
  relay runs (Rasa may be retried for minutes) a helper thread renews it every ``ttl / 3``.

Nothing is lost for the sake of order: when Redis is unreachable, or the lock is still held
after ``wait`` seconds, the reply goes out anyway and a warning is logged.
"""

from __future__ import annotations

import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import redis

from bot.settings import SlackSettings

logger = logging.getLogger(__name__)

STRIPES = 64
TTL_SECONDS = 30.0
WAIT_SECONDS = 60.0


class ThreadOrder:
    """Serialises the relays of one Slack thread; see the module's text."""

    def __init__(
        self,
        redis_url: str = "",
        prefix: str = "nordvik",
        *,
        ttl: float = TTL_SECONDS,
        wait: float = WAIT_SECONDS,
        client: Any | None = None,
    ) -> None:
        if ttl <= 0 or wait < 0:
            raise ValueError("ThreadOrder needs ttl > 0 and wait >= 0")
        self._stripes = tuple(threading.Lock() for _ in range(STRIPES))
        self.prefix = prefix
        self.ttl = ttl
        self.wait = wait
        if client is None and redis_url:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client

    @property
    def shared(self) -> bool:
        """True when the order holds across processes (a Redis client is configured)."""
        return self._redis is not None

    def key(self, channel: str, thread_ts: str) -> str:
        return f"{self.prefix}:slack:relay:{channel}/{thread_ts}"

    @contextmanager
    def hold(self, channel: str, thread_ts: str) -> Iterator[None]:
        """Run the body while no other relay of this thread runs (see the module's text)."""
        stripe = self._stripes[zlib.crc32(f"{channel}/{thread_ts}".encode()) % STRIPES]
        with stripe:
            if self._redis is None:
                yield
                return
            with self._shared(self.key(channel, thread_ts)):
                yield

    @contextmanager
    def _shared(self, key: str) -> Iterator[None]:
        lock = self._redis.lock(key, timeout=self.ttl, sleep=0.05,  # type: ignore[union-attr]
                                blocking_timeout=self.wait, thread_local=False)
        try:
            acquired = bool(lock.acquire())
        except redis.RedisError:
            logger.warning("Redis unavailable for the handoff relay's order; relaying without "
                           "the cross-process lock", exc_info=True)
            acquired = False
        else:
            if not acquired:
                logger.warning("another process held a handoff thread's relay lock for over "
                               "%.0f s; relaying without it", self.wait)
        stop = threading.Event()
        renewer = None
        if acquired:
            renewer = threading.Thread(target=self._renew, args=(lock, stop),
                                       name="relay-lock-renewer", daemon=True)
            renewer.start()
        try:
            yield
        finally:
            stop.set()
            if renewer is not None:
                renewer.join()
                try:
                    lock.release()
                except redis.RedisError:  # LockError too: expired, or taken by another
                    logger.warning("a handoff thread's relay lock was lost before its release "
                                   "(expired or Redis unavailable)", exc_info=True)

    def _renew(self, lock: Any, stop: threading.Event) -> None:
        while not stop.wait(self.ttl / 3):
            try:
                lock.reacquire()
            except redis.RedisError:  # LockError too
                logger.warning("could not renew a handoff thread's relay lock", exc_info=True)


@lru_cache(maxsize=1)
def thread_order() -> ThreadOrder:
    """The process's `ThreadOrder`, shared through Redis when the Slack app's REDIS_URL is set."""
    settings = SlackSettings.from_env()
    try:
        return ThreadOrder(settings.redis_url, settings.redis_prefix)
    except ValueError as error:  # a malformed REDIS_URL must not cost agents their replies
        logger.error("REDIS_URL is not usable for the handoff relay's order (%s); replies are "
                     "ordered within this process only", error)
        return ThreadOrder("", settings.redis_prefix)
