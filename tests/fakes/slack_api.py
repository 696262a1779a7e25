"""A local fake of Slack's Web API on loopback that records every call.

Point a client at it with ``WebClient(base_url=fake.url)``. Every Web API method is answered
(``{"ok": true}`` unless the method has a canned answer below) and recorded with its parameters,
form-encoded or JSON; ``blocks``/``attachments``/``prompts`` sent as JSON strings are decoded.
POSTs to ``fake.response_url(name)`` (a slash command's or an action's ``response_url``) are
recorded too, under the method name ``response_url``.

Configure answers per test: ``fake.replies[(channel, ts)] = [messages]`` for
``conversations.replies``, ``fake.channel_members[channel]``, ``fake.usergroup_users[group]``,
``fake.users[user_id]``, or ``fake.fail[method] = "error_code"`` to make a method fail.
``fake.delay[method] = 2.0`` makes a method answer 2 s late (a slow Slack API); the call is
recorded when it arrives. ``fake.hold[method] = threading.Event()`` keeps a method (or
``"response_url"``) from answering until the test sets the event (at most a minute): a test of
what happens *while* Slack is slow then checks the order of events, not durations.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

JSON_FIELDS = ("blocks", "attachments", "prompts", "view", "metadata", "context")


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]
    at: float


HOLD_SECONDS = 60.0


class FakeSlackApi:
    """Records calls; thread-safe; start() binds an ephemeral port on 127.0.0.1."""

    def __init__(self) -> None:
        self.calls: list[SlackCall] = []
        self.url = ""
        self.bot_user_id = "UBOT"
        self.replies: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.usergroup_users: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.fail: dict[str, str] = {}
        self.delay: dict[str, float] = {}
        self.hold: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._counter = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSlackApi:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                params = _decode(raw, self.headers.get("Content-Type") or "")
                if self.path.startswith("/response/"):
                    params["_path"] = self.path
                    fake._record("response_url", params)
                    fake._held("response_url")
                    self._send(200, b"ok", "text/plain")
                    return
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                answer = fake.answer(method, params)
                self._send(200, json.dumps(answer).encode(), "application/json")

            do_GET = do_POST  # noqa: N815 (a few SDK methods may GET)

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def response_url(self, name: str = "1") -> str:
        return self.url.replace("/api/", f"/response/{name}")

    # -- answers -----------------------------------------------------------------------------
    def _record(self, method: str, params: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append(SlackCall(method, params, time.perf_counter()))
            self._changed.notify_all()

    def _held(self, method: str) -> None:
        gate = self.hold.get(method)
        if gate is not None:
            gate.wait(HOLD_SECONDS)

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._record(method, params)
        self._held(method)
        if self.delay.get(method):
            time.sleep(self.delay[method])
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        if method in ("chat.postMessage", "chat.postEphemeral"):
            ts = f"1700000000.{next(self._counter):06d}"
            key = "message_ts" if method == "chat.postEphemeral" else "ts"
            return {"ok": True, "channel": params.get("channel"), key: ts,
                    "message": {"text": params.get("text"), "ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "auth.test":
            return {"ok": True, "user_id": self.bot_user_id, "bot_id": "BBOT", "team_id": "T1",
                    "user": "nordvik-assist", "team": "Nordvik", "url": "https://nordvik.test/"}
        if method == "conversations.replies":
            thread = (str(params.get("channel")), str(params.get("ts")))
            messages = self.replies.get(thread)
            if messages is None:
                return {"ok": False, "error": "thread_not_found"}
            return {"ok": True, "messages": messages, "has_more": False}
        if method == "conversations.members":
            members = self.channel_members.get(str(params.get("channel")))
            if members is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "members": members,
                    "response_metadata": {"next_cursor": ""}}
        if method == "usergroups.users.list":
            users = self.usergroup_users.get(str(params.get("usergroup")))
            if users is None:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": users}
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": user}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            view = params.get("view") or {}
            return {"ok": True, "view": {"id": f"V{next(self._counter):06d}", **view}}
        return {"ok": True}

    # -- assertions --------------------------------------------------------------------------
    def calls_to(self, method: str, **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == method
                    and all(c.params.get(k) == v for k, v in match.items())]

    def posts(self, **match: Any) -> list[dict[str, Any]]:
        return self.calls_to("chat.postMessage", **match)

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    def wait_for(self, method: str, timeout: float = 10.0, count: int = 1,
                 **match: Any) -> list[dict[str, Any]]:
        """Wait until `count` calls to `method` matching `match` were recorded; return them."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c.params for c in self.calls if c.method == method
                         and all(c.params.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {method} matching {match} within {timeout}s; calls: "
                        f"{[c.method for c in self.calls]}")
                self._changed.wait(left)

    def wait_for_post(self, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        return self.wait_for("chat.postMessage", timeout, **match)[-1]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


def _decode(raw: str, content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        try:
            params: dict[str, Any] = json.loads(raw or "{}")
        except ValueError:
            return {"_raw": raw}
    else:
        params = dict(parse_qsl(raw, keep_blank_values=True))
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str):
            with suppress(ValueError):
                params[key] = json.loads(params[key])
    return params


@contextmanager
def fake_slack_api() -> Iterator[FakeSlackApi]:
    """A started fake, stopped at the end of the block."""
    fake = FakeSlackApi().start()
    try:
        yield fake
    finally:
        fake.stop()
