"""A local fake of Slack's Web API for the handoff tests, recording every call.

Used only until tests/fakes/slack_api.py (the Slack issue's fake) offers the same; it answers
chat.postMessage (with a new ts per message), chat.update and auth.test, and records the
parameters of every call, form-encoded or JSON.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class SlackCall:
    method: str
    params: dict[str, Any]


@dataclass
class FakeSlack:
    calls: list[SlackCall] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def start(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                method = self.path.rstrip("/").rsplit("/", 1)[-1]
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params: dict[str, Any] = json.loads(raw or "{}")
                else:
                    params = dict(parse_qsl(raw))
                for key in ("blocks", "attachments"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                answer = fake.answer(method, params)
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.calls.append(SlackCall(method, params))
            if method == "chat.postMessage":
                ts = f"1700000000.{next(self._counter):06d}"
                return {"ok": True, "channel": params.get("channel"), "ts": ts,
                        "message": {"text": params.get("text"), "ts": ts}}
            if method == "chat.update":
                return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
            if method == "auth.test":
                return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1"}
            return {"ok": True}

    def posts(self, **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [c.params for c in self.calls if c.method == "chat.postMessage"
                    and all(c.params.get(k) == v for k, v in match.items())]

    def wait_for_post(self, timeout: float = 30.0, **match: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.posts(**match)
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no chat.postMessage matching {match} within {timeout}s: "
                             f"{[c.method for c in self.calls]}")
