"""A running `kb serve` hot-reloads new versions; builds killed midway never disturb it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from kb_index.builder import build
from kb_index.settings import KbSettings
from kb_index.versions import VersionStore

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=70)]  # builds killed and redone


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The service's own token, whatever var/secrets holds (`make run` generates one there).
TOKEN = "live-test-token-" + "x" * 16


def _env(settings: KbSettings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KB_TOKEN=TOKEN,
        KB_SOURCE=str(settings.source),
        KB_DIR=str(settings.kb_dir),
        KB_MODEL=settings.model,
        KB_PASSAGE_CHARS=str(settings.passage_chars),
        KB_RELOAD_INTERVAL="0.2",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        **extra,
    )
    return env


def _get(base: str, path: str, **params: str) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}" if params else f"{base}{path}"
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture()
def service(settings: KbSettings) -> Iterator[str]:
    build(settings)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb_index.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(settings),
        cwd=settings.kb_dir.parent,  # not the repository root: the installed package is used
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            _get(base, "/healthz")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                message = proc.stderr.read().decode() if proc.stderr else "no serve"
                raise AssertionError(message) from None
            time.sleep(0.3)
    yield base
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_for_version(base: str, version: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while _get(base, "/healthz")["version"] != version:
        assert time.monotonic() < deadline, f"kb serve did not switch to {version}"
        time.sleep(0.2)


def test_hot_reload_follows_pointer(service: str, settings: KbSettings) -> None:
    store = VersionStore(settings.kb_dir)
    v1 = store.live_name()
    assert _get(service, "/healthz")["version"] == v1
    path = settings.source / "en/shipping-sweden.md"
    path.write_text(path.read_text().replace("Budbee", "Zeppelinpost"), encoding="utf-8")
    v2 = build(settings, incremental=True).version
    _wait_for_version(service, v2)
    hits = _get(service, "/search", q="Zeppelinpost delivery")["hits"]
    assert hits[0]["article_id"] == "shipping-sweden" and "Zeppelinpost" in hits[0]["passage"]
    # rollback moves the pointer back: the service follows
    assert v1 is not None
    store.set_live(v1)
    _wait_for_version(service, v1)
    old_hits = _get(service, "/search", q="Zeppelinpost delivery")["hits"]
    assert old_hits and not any("Zeppelinpost" in h["passage"] for h in old_hits)


@pytest.mark.parametrize("command", ["build", "update"])
def test_killed_build_leaves_live_version_served(
    service: str, settings: KbSettings, command: str
) -> None:
    store = VersionStore(settings.kb_dir)
    before = store.live_name()
    path = settings.source / "en/returns-policy.md"
    path.write_text(path.read_text().replace("30 days", "99 days"), encoding="utf-8")
    for stage in ("embedded", "written", "renamed", "verified"):
        proc = subprocess.run(
            [sys.executable, "-m", "kb_index.cli", command],
            env=_env(settings, KB_CRASH_AT=stage),
            cwd=settings.kb_dir.parent,
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == -signal.SIGKILL, (stage, proc.stderr.decode()[-500:])
        assert store.live_name() == before, stage
        time.sleep(0.6)  # a few reload polls
        assert _get(service, "/healthz")["version"] == before, stage
        hits = _get(service, "/search", q="return window days")["hits"]
        assert hits[0]["article_id"] == "returns-policy" and "30 days" in hits[0]["passage"]
    # killed after the rename: complete but never verified nor made live
    assert len(store.names()) == 3
    # the next build (an update that shares the live version's segment) cleans up and goes live
    after = build(settings, incremental=True)
    assert after.incremental and after.embedded >= 1
    assert not list((settings.kb_dir / "versions").glob(".building-*"))
    _wait_for_version(service, after.version)
    assert "99 days" in _get(service, "/search", q="return window days")["hits"][0]["passage"]
