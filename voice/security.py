"""Every Twilio request is verified: its X-Twilio-Signature, and that it was not seen before.

Twilio signs the full URL it requests (with our query string) and the POSTed form fields with the
account's auth token (HMAC-SHA1; twilio.request_validator). The channel puts a step counter in
every URL it gives Twilio, so each genuine request of a call is unique; a request seen before
(same signature, same URL and fields) is a replay and refused like a forged one. Seen requests
are remembered for VOICE_REPLAY_SECONDS: in Redis when REDIS_URL is set (shared by every Rasa
replica: SET NX with an expiry), else in this process. When Redis does not answer, this
process's memory takes over (calls go on; a replay reaching another replica then is not caught).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import redis
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)

MAX_REMEMBERED = 100_000
REDIS_TIMEOUT_SECONDS = 1.0


class ReplayGuard:
    """Remembers request fingerprints for `seconds`; `first_time` is False for a repeat."""

    def __init__(self, seconds: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, fingerprint: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and (next(iter(self._seen.values())) < now - self.seconds
                                  or len(self._seen) > MAX_REMEMBERED):
                self._seen.popitem(last=False)
            if fingerprint in self._seen:
                return False
            self._seen[fingerprint] = now
            return True


class RedisReplayGuard:
    """The same, shared through Redis (`{prefix}:phone-seen:{fingerprint}` with an expiry)."""

    def __init__(self, redis_url: str, seconds: int, prefix: str = "nordvik",
                 client: Any = None) -> None:
        if client is None:
            client = redis.Redis.from_url(redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS,
                                          socket_connect_timeout=REDIS_TIMEOUT_SECONDS)
        self.client = client
        self.seconds = seconds
        self.prefix = prefix
        self.fallback = ReplayGuard(seconds)

    def first_time(self, fingerprint: str) -> bool:
        try:
            stored = self.client.set(f"{self.prefix}:phone-seen:{fingerprint}", b"1", nx=True,
                                     ex=self.seconds)
        except Exception:  # noqa: BLE001 - any Redis failure: this process remembers instead
            logger.warning("Redis unavailable for the phone replay check; using this process")
            return self.fallback.first_time(fingerprint)
        return bool(stored) and self.fallback.first_time(fingerprint)


def fingerprint(url: str, params: Mapping[str, str], signature: str) -> str:
    body = "\x00".join(f"{key}={params[key]}" for key in sorted(params))
    return hashlib.sha256(f"{url}\x01{body}\x01{signature}".encode()).hexdigest()


class RequestCheck:
    """Signature and replay check; `verdict` is "ok", "unsigned", "forged" or "replayed"."""

    def __init__(self, auth_token: str, replay_seconds: int, redis_url: str | None = None,
                 prefix: str = "nordvik") -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self.guard: ReplayGuard | RedisReplayGuard = (
            RedisReplayGuard(redis_url, replay_seconds, prefix) if redis_url
            else ReplayGuard(replay_seconds))

    def verdict(self, url: str, params: Mapping[str, str], signature: str | None) -> str:
        if not signature:
            return "unsigned"
        if self._validator is None or not self._validator.validate(url, dict(params), signature):
            return "forged"
        if not self.guard.first_time(fingerprint(url, params, signature)):
            return "replayed"
        return "ok"


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send (for the test script and the tests)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(params)))
