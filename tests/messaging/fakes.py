"""Fakes of the three platforms' send APIs on loopback: Twilio's Messages, Meta's Send API and
LINE's reply/push, in one HTTP server that records every call.

    fake = FakePlatforms().start()
    settings: TWILIO_API_URL=fake.url, MESSENGER_API_URL=fake.url + "/v19.0", LINE_API_URL=fake.url
    fake.wait_for("line_push", to=user_id)   -> the recorded call
    fake.fail["messenger"] = (400, {"error": {...}})   -> the next sends answer that
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Call:
    kind: str  # whatsapp | messenger | line_reply | line_push
    recipient: str  # the To number / PSID / LINE user id (reply: the reply token)
    texts: tuple[str, ...]
    body: Any
    headers: dict[str, str]


class FakePlatforms:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fail: dict[str, tuple[int, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakePlatforms:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = fake.handle(self.path, raw, dict(self.headers.items()))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def handle(self, path: str, raw: bytes, headers: dict[str, str]) -> tuple[int, Any]:
        if "/Messages.json" in path:
            form = dict(urllib.parse.parse_qsl(raw.decode()))
            call = Call("whatsapp", form.get("To", ""), (form.get("Body", ""),), form, headers)
            ok: tuple[int, Any] = (201, {"sid": f"SM{len(self.calls):032d}"})
        elif path.endswith("/me/messages"):
            body = json.loads(raw)
            call = Call("messenger", body["recipient"]["id"], (body["message"]["text"],), body,
                        headers)
            ok = (200, {"recipient_id": body["recipient"]["id"], "message_id": "m1"})
        elif path.endswith("/v2/bot/message/reply") or path.endswith("/v2/bot/message/push"):
            body = json.loads(raw)
            kind = "line_reply" if path.endswith("reply") else "line_push"
            recipient = body.get("replyToken") if kind == "line_reply" else body.get("to")
            call = Call(kind, str(recipient), tuple(m["text"] for m in body["messages"]), body,
                        headers)
            ok = (200, {})
        else:
            return 404, {"error": "unknown path"}
        platform = "line" if call.kind.startswith("line") else call.kind
        with self._lock:
            if platform in self.fail:
                return self.fail[platform]
            self.calls.append(call)
        return ok

    def calls_to(self, kind: str, recipient: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls
                    if c.kind == kind and (recipient is None or c.recipient == recipient)]

    def texts_to(self, kinds: tuple[str, ...], recipient: str | None = None) -> list[str]:
        with self._lock:
            return [t for c in self.calls if c.kind in kinds
                    and (recipient is None or c.recipient == recipient) for t in c.texts]

    def wait_for(self, kind: str, recipient: str | None = None, *, count: int = 1,
                 timeout: float = 60.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls_to(kind, recipient)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {kind} call to the recipient within {timeout:.0f} s "
                                     f"({len(found)} of {count})")
            time.sleep(0.1)
