"""An action server whose synchronous actions never stall its event loop.

rasa_sdk calls an action's `run` inside its event loop (`rasa_sdk/executor.py`): a synchronous
`run` that waits 2 s on Slack, a knowledge search or the database holds up every other
customer's action for those 2 s. `ThreadedActionExecutor` runs every synchronous `run` in a
thread pool (`loop.run_in_executor`) and awaits asynchronous ones as before; the rest of
rasa_sdk's server (routes, validation of events, /health, /actions) is unchanged.

    python -m runtime.action_executor --port 5055 --actions actions   # what `make run` starts

`create_app(package)` is the Sanic app, for a launcher that adds its own checks around it
(rasa_addons' action-server launcher). ACTION_THREADS (default 8) sizes the pool: at most that
many synchronous actions run at once per action server; more wait for a free thread, while
async actions and health checks go on.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import inspect
import logging
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import rasa_sdk.endpoint as endpoint
from rasa_sdk.executor import ActionExecutor

from nordvik.env import env_int, env_str
from runtime.settings import RuntimeSettings

logger = logging.getLogger(__name__)

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


def create_app(action_package: str | types.ModuleType = "actions",
               cors_origins: str | list[str] | None = None) -> Any:
    """rasa_sdk's Sanic app for `action_package`, built on ThreadedActionExecutor."""
    original = endpoint.ActionExecutor
    endpoint.ActionExecutor = ThreadedActionExecutor  # type: ignore[misc]
    try:
        return endpoint.create_app(action_package, cors_origins=cors_origins)
    finally:
        endpoint.ActionExecutor = original  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rasa action server (sync actions in threads)")
    parser.add_argument("--port", type=int, default=env_int(None, "ACTION_PORT", low=1, high=65535))
    parser.add_argument("--host", default=env_str(None, "ACTION_HOST"))
    parser.add_argument("--actions", default="actions", help="package with the actions")
    args = parser.parse_args(argv)
    logging.basicConfig(level=env_str(None, "LOG_LEVEL"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(args.actions)
    logger.info("action server on http://%s:%s (synchronous actions in %s threads)",
                args.host, args.port, action_pool()._max_workers)
    app.run(args.host, args.port, workers=1, access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
