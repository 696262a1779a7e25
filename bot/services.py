"""What the listeners need, built lazily: knowledge search, order store, feedback, dedupe.

`get_services()` is built from the environment on first use; tests and the bench install their
own with `configure(Services(...))`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis

from bot.settings import SlackSettings
from kb_index.client import HttpKnowledgeClient
from kb_index.feedback import FeedbackStore
from kb_index.types import KnowledgeSearch
from store import get_store
from store.repository import OrderStore

logger = logging.getLogger(__name__)


class EventDedupe:
    """Remembers Slack event ids for a while so a retried delivery is handled once."""

    def __init__(self, ttl_seconds: float = 3600.0, max_size: int = 100_000) -> None:
        self.ttl = ttl_seconds
        self.max_size = max_size
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        """True the first time `event_id` is seen (and remember it); False afterwards."""
        now = time.monotonic()
        with self._lock:
            seen_at = self._seen.get(event_id)
            if seen_at is not None and now - seen_at < self.ttl:
                return False
            if len(self._seen) >= self.max_size:
                self._expire(now)
            self._seen[event_id] = now
            return True

    def _expire(self, now: float) -> None:
        for key in [k for k, at in self._seen.items() if now - at >= self.ttl]:
            del self._seen[key]
        while len(self._seen) >= self.max_size:  # still full: forget the oldest
            del self._seen[next(iter(self._seen))]


class RedisEventDedupe:
    """`EventDedupe` shared by every Slack app process through Redis (SET NX with a TTL), so a
    retried event delivered to another process is still handled once.

    If Redis cannot be reached, this process falls back to its own memory (logged): an event
    is then handled at most once per process, rather than dropped.
    """

    def __init__(self, redis_url: str, ttl_seconds: float = 3600.0,
                 prefix: str = "nordvik", client: Any | None = None) -> None:
        self.ttl = max(1, int(ttl_seconds))
        self.prefix = prefix
        self._fallback = EventDedupe(ttl_seconds)
        if client is None:
            client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
        self._redis = client

    def key(self, event_id: str) -> str:
        return f"{self.prefix}:slack:event:{event_id}"

    def first_time(self, event_id: str) -> bool:
        try:
            return bool(self._redis.set(self.key(event_id), b"1", nx=True, ex=self.ttl))
        except redis.RedisError:
            logger.warning("Redis unavailable for Slack retry de-duplication; using this "
                           "process's memory", exc_info=True)
            return self._fallback.first_time(event_id)


class Services:
    """Holds the dependencies; each one is built on first use unless given."""

    def __init__(
        self,
        settings: SlackSettings | None = None,
        *,
        knowledge: KnowledgeSearch | None = None,
        order_store: OrderStore | None = None,
        feedback: FeedbackStore | None = None,
        dedupe: EventDedupe | RedisEventDedupe | None = None,
    ) -> None:
        self.settings = settings or SlackSettings.from_env()
        self._knowledge = knowledge
        self._store = order_store
        self._feedback = feedback
        self._dedupe = dedupe
        self._lock = threading.Lock()

    def knowledge(self) -> KnowledgeSearch:
        with self._lock:
            if self._knowledge is None:
                self._knowledge = HttpKnowledgeClient(self.settings.kb_url)
            return self._knowledge

    def store(self) -> OrderStore:
        """The order/CRM store; raises store.errors.StoreUnavailable when it cannot be opened."""
        with self._lock:
            if self._store is None:
                self._store = get_store()
            return self._store

    def feedback(self) -> FeedbackStore:
        with self._lock:
            if self._feedback is None:
                self._feedback = FeedbackStore()
            return self._feedback

    def dedupe(self) -> EventDedupe | RedisEventDedupe:
        """Shared through Redis when REDIS_URL is set (several app processes), else in memory."""
        with self._lock:
            if self._dedupe is None:
                seconds = float(self.settings.dedupe_seconds)
                if self.settings.redis_url:
                    self._dedupe = RedisEventDedupe(self.settings.redis_url, seconds,
                                                    self.settings.redis_prefix)
                else:
                    self._dedupe = EventDedupe(seconds)
            return self._dedupe


_services: Services | None = None
_services_lock = threading.Lock()


def get_services() -> Services:
    global _services
    with _services_lock:
        if _services is None:
            _services = Services()
        return _services


def configure(services: Services | None) -> None:
    """Install the services the listeners use (None: build from the environment again)."""
    global _services
    with _services_lock:
        _services = services
