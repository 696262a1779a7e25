import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kb_index.builder import build
from kb_index.client import HttpKnowledgeClient
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.service import create_app
from kb_index.settings import KbSettings

# The service under test gets a token of its own, and the tests send it: nothing depends on a
# token an installation may hold (kb_index.auth reads it from the state folder otherwise).
TOKEN = "kb-service-test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture()
async def client(settings: KbSettings) -> AsyncIterator[TestClient]:
    build(settings)
    server = TestServer(create_app(settings, token=TOKEN), host="127.0.0.1")
    async with TestClient(server, headers=AUTH) as test_client:
        yield test_client


async def test_search_returns_contract_hits(client: TestClient) -> None:
    response = await client.get("/search", params={"q": "return label free", "k": "3"})
    assert response.status == 200
    data = await response.json()
    assert data["query"] == "return label free"
    hit = data["hits"][0]
    assert hit["article_id"] == "returns-policy"
    assert set(hit) == {
        "article_id", "title", "passage", "score", "language", "url", "stale", "audience",
        "heading_path",
    }
    assert hit["url"] == "https://help.nordvik.example/articles/returns-policy"
    assert 0 <= hit["score"] <= 1
    internal = await client.get("/search", params={"q": "agent goodwill limit"})
    assert all(h["audience"] == "public" for h in (await internal.json())["hits"])
    both = await client.get(
        "/search", params={"q": "agent goodwill limit", "audience": "public,internal"}
    )
    assert (await both.json())["hits"][0]["article_id"] == "refund-authority"
    zh = await client.get("/search", params={"q": "退貨", "lang": "zh"})
    assert [h["article_id"] for h in (await zh.json())["hits"]] == ["returns-zh"]


async def test_healthz_and_metrics(client: TestClient) -> None:
    health = await client.get("/healthz")
    assert health.status == 200
    assert (await health.json())["status"] == "ok"
    await client.get("/search", params={"q": "returns"})
    await client.get("/search", params={"q": ""})
    metrics = await (await client.get("/metrics")).text()
    assert 'kb_search_requests_total{status="200"} 1.0' in metrics
    assert 'kb_search_requests_total{status="400"} 1.0' in metrics
    assert "kb_search_seconds_bucket" in metrics


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": ""}, "empty"),
        ({}, "empty"),
        ({"q": "x" * 100_001}, "longer than"),
        ({"q": "ok", "k": "0"}, "k must be"),
        ({"q": "ok", "k": "1000"}, "k must be"),
        ({"q": "ok", "k": "five"}, "integer"),
        ({"q": "ok", "lang": "fr"}, "unknown language"),
        ({"q": "ok", "audience": "admins"}, "unknown audience"),
    ],
)
async def test_bad_queries_get_400(client: TestClient, params: dict, message: str) -> None:
    response = await client.get("/search", params=params)
    assert response.status == 400
    assert message in (await response.json())["error"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # percent-encoded invalid UTF-8 reaches the handler: JSON message
        (b"/search?q=%ff%fereturn", b'{"error": "query string is not valid UTF-8"}'),
        # raw non-ASCII bytes are refused by aiohttp's HTTP parser before any handler runs
        (b"/search?q=\xff\xfereturn", b"Invalid char in url query"),
    ],
)
async def test_invalid_utf8_gets_400(client: TestClient, target: bytes, expected: bytes) -> None:
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    writer.write(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                 + b"Authorization: Bearer " + TOKEN.encode() + b"\r\n\r\n")
    await writer.drain()
    raw = await reader.read()
    writer.close()
    assert raw.split(b" ", 2)[1] == b"400", raw[:200]
    assert expected in raw


@pytest.fixture()
def running_service(settings: KbSettings) -> Iterator[str]:
    """The real app on a free loopback port, in a thread, for the synchronous client."""
    build(settings)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings, token=TOKEN))
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_http_client_against_real_service(running_service: str) -> None:
    client = HttpKnowledgeClient(running_service, timeout=10, token=TOKEN)
    hits = client.search("return label free in Sweden", k=2)
    assert hits[0].article_id == "returns-policy"
    assert hits[0].heading_path == ("Return label",)
    assert client.search("agent goodwill limit", audience=("internal",))[0].audience == "internal"
    assert client.healthy()
    with pytest.raises(InvalidQuery, match="k must be"):
        client.search("returns", k=0)


def test_no_live_version_gives_503(tmp_path: Path, settings: KbSettings) -> None:
    loop = asyncio.new_event_loop()

    async def run() -> tuple[int, int]:
        server = TestServer(create_app(settings, token=TOKEN), host="127.0.0.1")
        async with TestClient(server, headers=AUTH) as c:
            return (await c.get("/search", params={"q": "x"})).status, (
                await c.get("/healthz")
            ).status

    try:
        assert loop.run_until_complete(run()) == (503, 503)
    finally:
        loop.close()


def test_client_maps_503_to_unavailable(settings: KbSettings) -> None:
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings, token=TOKEN))  # no build: nothing live
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(KnowledgeUnavailable, match="503"):
            HttpKnowledgeClient(f"http://127.0.0.1:{port}", timeout=5,
                                token=TOKEN).search("returns")
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
