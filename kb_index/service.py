"""`kb serve`: the search service (aiohttp) with hot reload of the live version.

Bound to loopback by default; with a token configured (kb_index.auth) every request but
``GET /healthz`` needs ``Authorization: Bearer <token>``. ``GET /openapi.json`` describes the
service (kb_index.openapi)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import urllib.parse
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from kb_index.auth import OPEN_PATHS, check_bind, configured_token, token_matches
from kb_index.client import hit_to_json
from kb_index.embedder import limit_query_threads
from kb_index.errors import InvalidQuery, KnowledgeError, KnowledgeUnavailable
from kb_index.openapi import openapi_document
from kb_index.search import LiveIndex
from kb_index.settings import KbSettings

logger = logging.getLogger(__name__)

LIVE_KEY = web.AppKey("live", LiveIndex)
METRICS_KEY = web.AppKey("metrics", dict)
TOKEN_KEY = web.AppKey("token", str)


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


def _parse_query_string(raw: bytes) -> dict[str, str]:
    """Decode the query string strictly: invalid UTF-8 (raw or percent-encoded) is an error."""
    raw_text = raw.decode("utf-8")
    params: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(
        raw_text, keep_blank_values=True, encoding="utf-8", errors="strict"
    ):
        params.setdefault(name, value)
    return params


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in value.split(",") if part.strip())


async def search_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    started = time.perf_counter()
    try:
        raw_qs = request.rel_url.raw_query_string
        try:
            params = _parse_query_string(raw_qs.encode("utf-8", "surrogateescape"))
        except UnicodeError:
            raise InvalidQuery("query string is not valid UTF-8") from None
        query = params.get("q", "")
        try:
            k = int(params.get("k", "5"))
        except ValueError:
            raise InvalidQuery("k must be an integer") from None
        lang = params.get("lang") or None
        audience = _split(params.get("audience")) or ("public",)
        tags = _split(params.get("tags"))
        live: LiveIndex = request.app[LIVE_KEY]
        hits = live.search(query, k=k, lang=lang, audience=audience, tags=tags)
    except InvalidQuery as exc:
        metrics["requests"].labels(status="400").inc()
        return _bad(str(exc))
    except KnowledgeUnavailable:
        logger.exception("knowledge index unavailable")
        metrics["requests"].labels(status="503").inc()
        return web.json_response({"error": "knowledge index unavailable"}, status=503)
    metrics["requests"].labels(status="200").inc()
    metrics["latency"].observe(time.perf_counter() - started)
    return web.json_response(
        {"query": query, "hits": [hit_to_json(h) for h in hits]},
        dumps=lambda obj: json.dumps(obj, ensure_ascii=False),
    )


@web.middleware
async def require_token(request: web.Request, handler: Any) -> web.StreamResponse:
    """401 for any request without the configured token (the health check stays open)."""
    token = request.app[TOKEN_KEY]
    guarded = bool(token) and request.path not in OPEN_PATHS
    if guarded and not token_matches(request.headers.get("Authorization"), token):
        request.app[METRICS_KEY]["requests"].labels(status="401").inc()
        return web.json_response(
            {"error": "missing or wrong token"}, status=401,
            headers={"WWW-Authenticate": 'Bearer realm="kb"'},
        )
    response: web.StreamResponse = await handler(request)
    return response


async def openapi_handler(request: web.Request) -> web.Response:
    return web.json_response(openapi_document(request.app[LIVE_KEY].settings))


async def healthz_handler(request: web.Request) -> web.Response:
    live: LiveIndex = request.app[LIVE_KEY]
    try:
        current = live.current
    except KnowledgeError:
        return web.json_response({"status": "unavailable"}, status=503)
    return web.json_response(
        {
            "status": "ok",
            "version": current.name,
            "articles": len(current.articles),
            "passages": current.n_passages,
        }
    )


async def metrics_handler(request: web.Request) -> web.Response:
    registry: CollectorRegistry = request.app[METRICS_KEY]["registry"]
    return web.Response(
        body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


async def _watch_pointer(app: web.Application) -> None:
    """Poll the live pointer; load a new version fully in a thread, then swap the reference."""
    live = app[LIVE_KEY]
    settings = live.settings
    loop = asyncio.get_running_loop()
    while True:
        try:
            swapped = await loop.run_in_executor(None, live.reload)
            if swapped:
                app[METRICS_KEY]["reloads"].inc()
                app[METRICS_KEY]["passages"].set(live.current.n_passages)
        except KnowledgeError:
            logger.exception("could not load the live knowledge index; still serving the last one")
        await asyncio.sleep(settings.reload_interval)


async def _start_watch(app: web.Application) -> Any:
    task = asyncio.create_task(_watch_pointer(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def create_app(
    settings: KbSettings, live: LiveIndex | None = None, token: str | None = None
) -> web.Application:
    """The service; ``token`` (default: the configured one, kb_index.auth) guards every route
    but /healthz ("" = open)."""
    registry = CollectorRegistry()
    metrics = {
        "registry": registry,
        "requests": Counter(
            "kb_search_requests", "Search requests by HTTP status", ["status"], registry=registry
        ),
        "latency": Histogram(
            "kb_search_seconds",
            "Search latency (successful requests)",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
            registry=registry,
        ),
        "reloads": Counter("kb_index_reloads", "Live version swaps", registry=registry),
        "passages": Gauge("kb_index_passages", "Passages in the served version", registry=registry),
    }
    # long queries must reach the handler (which answers 400 with a JSON message), so the
    # request line may hold a percent-encoded query somewhat over the limit
    line = settings.max_query_bytes * 3 + 8192
    app = web.Application(
        handler_args={"max_line_size": line, "max_field_size": 8190},
        middlewares=[require_token],
    )
    app[LIVE_KEY] = live or LiveIndex(settings)
    app[METRICS_KEY] = metrics
    app[TOKEN_KEY] = configured_token(settings) if token is None else token
    app.router.add_get("/search", search_handler)
    app.router.add_get("/healthz", healthz_handler)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/openapi.json", openapi_handler)
    app.cleanup_ctx.append(_start_watch)
    return app


def serve(settings: KbSettings, host: str, port: int) -> None:
    """Run the service until interrupted; refuses a non-loopback address without a token."""
    token = configured_token(settings)
    check_bind(host, token)
    limit_query_threads(settings.query_threads)
    live = LiveIndex(settings)
    live.reload()  # fail fast with a clear message when there is no live version
    # warm the query embedders so the first request is not slow (an English question also
    # loads the English model, and with it torch, whose threads are then limited too)
    live.current.search("how do I return an item", k=1, audience=("public", "internal"))
    limit_query_threads(settings.query_threads)
    logger.info("kb serve on %s:%s (%s)", host, port, "token required" if token else "no token")
    web.run_app(create_app(settings, live, token), host=host, port=port, print=None)
