"""A throwaway aiohttp server on a free loopback port, for tests that need a real HTTP peer.

    async with post_server("/webhook", handler) as url:
        ...  # POSTs to `url` reach `handler`
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def post_server(path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                      ) -> AsyncIterator[str]:
    """Serve POST `path` with `handler` until the block ends; yields the URL."""
    app = web.Application()
    app.router.add_post(path, handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()
