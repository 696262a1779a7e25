"""The action server: rasa_sdk's app for the `actions` package, behind a shared secret.

    python -m rasa_addons.action_server [--port 5055] [--host 127.0.0.1] [--actions actions]

What `rasa run actions` does (rasa_sdk's app: POST /webhook, GET /actions, GET /health; port
5055; ACTION_SERVER_SANIC_WORKERS), with four differences:

- it listens on ACTION_HOST (default 127.0.0.1), not on every interface;
- every call except GET /health must carry the shared secret ACTION_SERVER_TOKEN (from the
  environment, else generated once into var/secrets/action_server_token), as
  `Authorization: Bearer <secret>` (what scripts/rasa_env.py configures Rasa to send) or
  `?token=<secret>`; 401 without it, 403 with a wrong one (compared in constant time);
- an action that raises gets `{"error": "action failed"}` with status 500, not the exception's
  text and the request body (the tracker, with the customer's messages) that rasa_sdk echoes;
- synchronous actions never stall its event loop. rasa_sdk calls an action's `run` inside its
  event loop (`rasa_sdk/executor.py`): a synchronous `run` that waits 2 s on Slack, a knowledge
  search or the database would hold up every other customer's action for those 2 s.
  `ThreadedActionExecutor` runs every synchronous `run` in a thread pool
  (`loop.run_in_executor`) and awaits asynchronous ones as before; the rest of rasa_sdk's server
  (routes, validation of events, /health, /actions) is unchanged. ACTION_THREADS (default 8)
  sizes the pool: at most that many synchronous actions run at once per action server; more
  wait for a free thread, while async actions and health checks go on.

`create_threaded_app(package)` is rasa_sdk's Sanic app on that executor; `create_app(settings)`
adds the secret's checks around it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hmac
import inspect
import json
import logging
import sys
import types
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import rasa_sdk.endpoint as endpoint
from rasa_sdk import utils
from rasa_sdk.executor import ActionExecutor
from sanic import response
from sanic.exceptions import SanicException
from sanic.request import Request

from nordvik.env import SettingsError
from rasa_addons.settings import ActionServerSettings, is_loopback
from runtime.settings import RuntimeSettings

logger = logging.getLogger(__name__)

OPEN_PATHS = ("/health",)


# --- Synchronous actions in a thread pool, off the event loop ---

_pool: ThreadPoolExecutor | None = None


def action_pool(threads: int | None = None) -> ThreadPoolExecutor:
    """The process's pool for synchronous actions (created on first use)."""
    global _pool
    if _pool is None:
        if threads is None:
            threads = RuntimeSettings.from_env().action_threads
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="action")
    return _pool


def off_the_loop(run: Callable[..., Any], pool: ThreadPoolExecutor | None = None
                 ) -> Callable[..., Any]:
    """`run(dispatcher, tracker, domain)` as a coroutine function executed in the pool."""
    if inspect.iscoroutinefunction(run):
        return run

    @functools.wraps(run)
    async def threaded(dispatcher: Any, tracker: Any, domain: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(pool or action_pool(), run, dispatcher, tracker, domain)

    return threaded


class ThreadedActionExecutor(ActionExecutor):
    """rasa_sdk's executor; synchronous actions run in `action_pool()`."""

    def register_function(self, name: str, f: Callable[..., Any]) -> None:
        super().register_function(name, f)
        self.actions[name] = off_the_loop(self.actions[name])


def create_threaded_app(action_package: str | types.ModuleType = "actions",
                        cors_origins: str | list[str] | None = None) -> Any:
    """rasa_sdk's Sanic app for `action_package`, built on ThreadedActionExecutor."""
    original = endpoint.ActionExecutor
    endpoint.ActionExecutor = ThreadedActionExecutor  # type: ignore[misc]
    try:
        return endpoint.create_app(action_package, cors_origins=cors_origins)
    finally:
        endpoint.ActionExecutor = original  # type: ignore[misc]


# --- The shared secret around rasa_sdk's app, and the entry ---


def presented_token(headers: Any, args: Any) -> str | None:
    """The secret a request carries: a Bearer header, else the `token` query parameter."""
    authorization = headers.get("authorization") or ""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return str(value.strip())
    token = args.get("token") if args is not None else None
    return str(token) if token else None


def token_matches(presented: str | None, expected: str) -> bool:
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def _sdk_app(actions_package: str) -> Any:
    """rasa_sdk's app; with ThreadedActionExecutor, synchronous actions run in a thread pool."""
    return create_threaded_app(actions_package, cors_origins=[])


def _is_action_call(request: Any) -> bool:
    """A JSON object with `next_action` (text) and `tracker` (object), as Rasa sends."""
    if request.headers.get("content-encoding") == "deflate":
        return True  # compressed by Rasa; rasa_sdk decompresses and checks it
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return False
    return (isinstance(body, dict) and isinstance(body.get("next_action"), str)
            and isinstance(body.get("tracker"), dict))


def create_app(settings: ActionServerSettings) -> Any:
    """rasa_sdk's Sanic app for the actions package, with the secret checked on every call."""
    if not settings.token:
        raise SystemExit("action server: ACTION_SERVER_TOKEN is empty")
    app = _sdk_app(settings.actions_package)

    @app.middleware("request")
    async def require_secret(request: Request) -> Any:
        if request.path in OPEN_PATHS and request.method in ("GET", "HEAD"):
            return None
        presented = presented_token(request.headers, request.args)
        if presented is None:
            return response.json({"error": "authentication required"}, status=401)
        if not token_matches(presented, settings.token):
            logger.warning("action server: call with a wrong secret refused (%s %s)",
                           request.method, request.path)
            return response.json({"error": "not allowed"}, status=403)
        if request.path == "/webhook" and request.method == "POST" and not _is_action_call(request):
            return response.json({"error": "the body must be an action call (next_action, "
                                           "tracker)"}, status=400)
        return None

    async def action_failed(request: Request, exception: Exception) -> Any:
        status = getattr(exception, "status_code", 500)
        if isinstance(exception, SanicException) and isinstance(status, int) and status < 500:
            return response.json({"error": "bad request"}, status=status)  # e.g. body not JSON
        logger.error("action server: %s %s failed: %s", request.method, request.path,
                     type(exception).__name__,
                     exc_info=(type(exception), exception, exception.__traceback__))
        return response.json({"error": "action failed"}, status=500)

    app.error_handler.add(Exception, action_failed)
    return app


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rasa_addons.action_server",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", help="interface (default: $ACTION_HOST, else 127.0.0.1)")
    parser.add_argument("-p", "--port", type=int, help="port (default: $ACTION_PORT, else 5055)")
    parser.add_argument("--actions", help="actions package (default: actions)")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING"))
    args = parser.parse_args(argv)
    try:
        settings = ActionServerSettings.from_env()
    except SettingsError as exc:
        print(f"action server: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port or settings.port
    actions = args.actions or settings.actions_package
    settings = ActionServerSettings(host=host, port=port, token=settings.token,
                                    actions_package=actions)
    utils.configure_colored_logging(args.log_level)
    utils.update_sanic_log_level()
    app = create_app(settings)
    logger.info("action server on http://%s:%s (%s; every call needs the shared secret)",
                host, port, "loopback only" if is_loopback(host) else "reachable from the network")
    app.run(host, port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
