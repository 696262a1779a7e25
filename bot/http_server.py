"""HTTP mode: a small threaded server that hands Slack's POSTs to the Bolt app.

Bolt's own development server always binds 0.0.0.0; this one binds SLACK_HOST (default
127.0.0.1: put a tunnel or reverse proxy with TLS in front for Slack to reach it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_BODY = 1_000_000


def make_server(
    app: App, signing_secret: str, host: str = "127.0.0.1", port: int = 3000
) -> ThreadingHTTPServer:
    """Serve `app`; `signing_secret` checks requests whose body Bolt cannot parse."""
    verifier = SignatureVerifier(signing_secret)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            if urlparse(self.path).path != EVENTS_PATH:
                self._send(404, b"not found", {})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, b"request too large", {})
                return
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            headers: dict[str, str | Sequence[str]] = {
                k.lower(): [v] for k, v in self.headers.items()}
            try:
                request = BoltRequest(body=body, headers=headers)
            except ValueError:  # a body Bolt cannot parse (e.g. payload= that is not JSON)
                signed = verifier.is_valid_request(body, dict(self.headers.items()))
                logger.warning("unparseable Slack request (signature %s)",
                               "valid" if signed else "invalid")
                self._send(400 if signed else 401, b"malformed request" if signed else b"", {})
                return
            response = app.dispatch(request)
            out = (response.body or "").encode()
            self._send(response.status, out, {k: v[0] for k, v in response.headers.items() if v})

        def do_GET(self) -> None:  # noqa: N802
            self._send(200 if self.path == "/healthz" else 404, b"ok", {})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            logger.debug("slack http: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_in_thread(
    app: App, signing_secret: str, host: str = "127.0.0.1", port: int = 0
) -> ThreadingHTTPServer:
    """Start serving in a daemon thread (tests and benches); stop with shutdown()."""
    server = make_server(app, signing_secret, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
