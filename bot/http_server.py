"""HTTP mode: Bolt's Starlette adapter under uvicorn.

`create_asgi_app(app, signing_secret)` is a Starlette app that hands Slack's POSTs on
`/slack/events` to the Bolt app through Bolt's own adapter (`slack_bolt.adapter.starlette`:
`to_bolt_request` / `to_starlette_response`). Bolt's synchronous `App.dispatch` runs in
Starlette's thread pool, so a slow listener never stalls the event loop. `GET /healthz` is the
health check. `python -m bot` serves it with uvicorn on SLACK_HOST:SLACK_PORT (default
127.0.0.1:3000: put a tunnel or reverse proxy with TLS in front for Slack to reach it); several
processes can serve the same app, because retried events are remembered in Redis (REDIS_URL).
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1_000_000


def create_asgi_app(app: App, signing_secret: str) -> Starlette:
    """The ASGI app serving `app`; `signing_secret` checks requests Bolt cannot parse."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: Request) -> Response:
        declared = request.headers.get("content-length") or "0"
        if not declared.isdigit() or int(declared) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return PlainTextResponse("request too large", status_code=413)
        try:
            bolt_request = to_bolt_request(request, body)
        except ValueError:  # a body Bolt cannot parse (e.g. payload= that is not JSON)
            text = body.decode("utf-8", errors="replace")
            signed = verifier.is_valid_request(text, dict(request.headers.items()))
            logger.warning("unparseable Slack request (signature %s)",
                           "valid" if signed else "invalid")
            if signed:
                return PlainTextResponse("malformed request", status_code=400)
            return Response(status_code=401)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route(EVENTS_PATH, events, methods=["POST"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
    ])


def serve(app: App, signing_secret: str, host: str = "127.0.0.1", port: int = 3000) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM gracefully)."""
    # ws="none": Slack never opens websockets here, and uvicorn's websocket protocol does not
    # import with the websockets version Rasa pins
    uvicorn.run(create_asgi_app(app, signing_secret), host=host, port=port, ws="none",
                log_level="warning", access_log=False)


class RunningServer:
    """A uvicorn server in a daemon thread (tests and benches)."""

    def __init__(self, app: App, signing_secret: str, host: str, port: int) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.server_address: tuple[str, int] = self._socket.getsockname()[:2]
        config = uvicorn.Config(create_asgi_app(app, signing_secret), log_level="warning",
                                access_log=False, lifespan="off", ws="none")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def shutdown(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def server_close(self) -> None:
        self._socket.close()


def serve_in_thread(app: App, signing_secret: str, host: str = "127.0.0.1",
                    port: int = 0) -> RunningServer:
    """Start serving in a daemon thread; stop with shutdown() and server_close()."""
    return RunningServer(app, signing_secret, host, port)
