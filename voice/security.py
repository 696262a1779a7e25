"""Every Twilio request is verified: its X-Twilio-Signature, and that it was not seen before.

Twilio signs the full URL it requests (with our query string) and the POSTed form fields with the
account's auth token (HMAC-SHA1; twilio.request_validator). The channel puts a step counter in
every URL it gives Twilio, so each genuine request of a call is unique; a request seen before
(same signature, same URL and fields) is a replay and refused like a forged one. Seen requests
are remembered for VOICE_REPLAY_SECONDS in this process (one Rasa replica answers a call's
requests; with several replicas, a replay that lands on another replica within the window is not
caught: docs/PHONE.md).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from twilio.request_validator import RequestValidator

MAX_REMEMBERED = 100_000


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


def fingerprint(url: str, params: Mapping[str, str], signature: str) -> str:
    body = "\x00".join(f"{key}={params[key]}" for key in sorted(params))
    return hashlib.sha256(f"{url}\x01{body}\x01{signature}".encode()).hexdigest()


class RequestCheck:
    """Signature and replay check; `verdict` is "ok", "unsigned", "forged" or "replayed"."""

    def __init__(self, auth_token: str, replay_seconds: int) -> None:
        self._validator = RequestValidator(auth_token) if auth_token else None
        self.guard = ReplayGuard(replay_seconds)

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
