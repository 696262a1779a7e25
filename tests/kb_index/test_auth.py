"""kb serve's token: loopback by default, refused beyond it without a token, 401 without or
with a wrong token, the health check open, and the client sending the configured token."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kb_index import auth
from kb_index.builder import build
from kb_index.client import HttpKnowledgeClient
from kb_index.errors import KnowledgeError, KnowledgeUnavailable
from kb_index.service import create_app
from kb_index.settings import KbSettings

TOKEN = "kb-test-token-0123456789abcdef"


@pytest.fixture()
async def guarded(settings: KbSettings) -> AsyncIterator[TestClient]:
    build(settings)
    server = TestServer(create_app(settings, token=TOKEN), host="127.0.0.1")
    async with TestClient(server) as test_client:
        yield test_client


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer"},
        {"Authorization": TOKEN},
    ],
)
async def test_requests_without_the_right_token_get_401(guarded: TestClient, headers: dict) -> None:
    for path in ("/search?q=return+label", "/metrics", "/openapi.json", "/search"):
        response = await guarded.get(path, headers=headers)
        assert response.status == 401, path
        assert (await response.json())["error"] == "missing or wrong token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_the_right_token_passes_and_health_stays_open(guarded: TestClient) -> None:
    ok = {"Authorization": f"Bearer {TOKEN}"}
    hits = await guarded.get("/search", params={"q": "return label free"}, headers=ok)
    assert hits.status == 200
    assert (await hits.json())["hits"][0]["article_id"] == "returns-policy"
    # the contract's 400s are unchanged behind the token
    bad = await guarded.get("/search", params={"q": "ok", "k": "0"}, headers=ok)
    assert bad.status == 400 and "k must be" in (await bad.json())["error"]
    assert (await guarded.get("/healthz")).status == 200
    spec = await (await guarded.get("/openapi.json", headers=ok)).json()
    assert set(spec["paths"]) == {"/search", "/healthz", "/metrics", "/openapi.json"}
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    metrics = await (await guarded.get("/metrics", headers=ok)).text()
    assert 'kb_search_requests_total{status="200"} 1.0' in metrics


async def test_without_a_token_the_loopback_service_is_open(settings: KbSettings) -> None:
    build(settings)
    async with TestClient(TestServer(create_app(settings, token=""), host="127.0.0.1")) as c:
        assert (await c.get("/search", params={"q": "return label"})).status == 200


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("192.0.2.10", False), ("kb.example", False)],
)
def test_binding_beyond_loopback_needs_a_token(host: str, loopback: bool) -> None:
    assert auth.is_loopback(host) is loopback
    auth.check_bind(host, "a-token-of-enough-length")
    if loopback:
        auth.check_bind(host, "")
    else:
        with pytest.raises(KnowledgeError, match="needs a token"):
            auth.check_bind(host, "")


def test_configured_token_comes_from_env_then_the_generated_file(
    tmp_path: Path, settings: KbSettings
) -> None:
    secrets = tmp_path / "secrets"
    assert auth.configured_token(settings, secrets) == ""  # nothing configured, nothing made
    assert not secrets.exists()
    path = auth.create_token(secrets)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    generated = auth.configured_token(settings, secrets)
    assert len(generated) >= 32 and path.read_text().strip() == generated
    assert auth.create_token(secrets) == path and path.read_text().strip() == generated
    from_env = dataclasses.replace(settings, token="from-the-environment-123456")
    assert auth.configured_token(from_env, secrets) == "from-the-environment-123456"


def test_settings_read_host_and_token_from_the_environment() -> None:
    default = KbSettings.from_env({})
    assert default.host == "127.0.0.1" and default.token == ""
    custom = KbSettings.from_env({"KB_HOST": "0.0.0.0", "KB_TOKEN": "t0ken-from-env-123456"})
    assert custom.host == "0.0.0.0" and custom.token == "t0ken-from-env-123456"
    assert "t0ken" not in repr(custom)  # never in a log line


@pytest.fixture()
def guarded_service(settings: KbSettings) -> Iterator[str]:
    build(settings)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings, token=TOKEN))
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_client_sends_the_token(guarded_service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert HttpKnowledgeClient(guarded_service, timeout=10, token=TOKEN).search(
        "return label free"
    )[0].article_id == "returns-policy"
    with pytest.raises(KnowledgeUnavailable, match="401"):
        HttpKnowledgeClient(guarded_service, timeout=10, token="").search("return label")
    with pytest.raises(KnowledgeUnavailable, match="401"):
        HttpKnowledgeClient(guarded_service, timeout=10, token="wrong").search("return label")
    # by default the client takes the configured token (here KB_TOKEN), as the action server
    # and the Slack app construct it
    monkeypatch.setenv("KB_TOKEN", TOKEN)
    monkeypatch.setenv("KB_URL", guarded_service)
    assert HttpKnowledgeClient.from_env(timeout=10).search("return label")
    assert HttpKnowledgeClient(guarded_service, timeout=10).healthy()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_kb_serve_refuses_to_start_beyond_loopback_without_a_token(
    settings: KbSettings, tmp_path: Path
) -> None:
    env = {
        **os.environ, "KB_DIR": str(settings.kb_dir), "KB_SOURCE": str(settings.source),
        "KB_MODEL": settings.model, "KB_HOST": "0.0.0.0", "KB_URL": f"http://127.0.0.1:{_free_port()}",
    }
    env.pop("KB_TOKEN", None)
    env["NORDVIK_VAR_DIR"] = str(tmp_path / "state")  # an installation without a token file
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "kb_index.cli", "serve"], env=env, capture_output=True,
        text=True, timeout=120, check=False, cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "refusing to listen on 0.0.0.0" in result.stderr and "KB_TOKEN" in result.stderr
    assert time.monotonic() - started < 120
