"""/suggest through the production path: HttpKnowledgeClient to a real `kb serve` subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.app import create_app
from bot.services import Services, configure
from bot.settings import SlackSettings
from kb_index.client import HttpKnowledgeClient
from kb_index.feedback import FeedbackStore
from kb_index.search import LiveIndex
from tests.bot.conftest import SECRET, TOKEN, command_body, dispatch, sign
from tests.fakes.slack_api import FakeSlackApi

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


@pytest.fixture()
def kb_url(real_index: LiveIndex) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = real_index.settings
    env = {**os.environ, "KB_DIR": str(settings.kb_dir), "KB_SOURCE": str(settings.source),
           "KB_MODEL": settings.model, "KB_PASSAGE_CHARS": str(settings.passage_chars)}
    process = subprocess.Popen([sys.executable, "-m", "kb_index.cli", "serve", "--host",
                                "127.0.0.1", "--port", str(port)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"kb serve exited: {process.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError("kb serve did not become healthy") from None
                time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_suggest_through_kb_serve(kb_url: str, settings: SlackSettings,
                                  feedback: FeedbackStore, fake_api: FakeSlackApi) -> None:
    configure(Services(settings, knowledge=HttpKnowledgeClient(kb_url), feedback=feedback))
    try:
        app = create_app(settings, client=WebClient(token=TOKEN, base_url=fake_api.url))
        dispatch(app, command_body("/suggest", "How much goodwill refund may an agent give?",
                                   fake_api))
        posted = fake_api.wait_for("response_url", timeout=20)[0]
    finally:
        configure(None)
    text = json.dumps(posted["blocks"])
    assert "Agent refund authority" in text  # internal audience reached over HTTP
    assert "1,000 SEK" in text


def test_python_m_bot_serves_http_mode(tmp_path: Path, fake_api: FakeSlackApi) -> None:
    """`python -m bot` with tokens: HTTP mode on SLACK_PORT, signed requests answered."""
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    slack_port, closed_kb_port = ports
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_APP_TOKEN": "", "SLACK_API_URL": fake_api.url, "SLACK_PORT": str(slack_port),
           "KB_URL": f"http://127.0.0.1:{closed_kb_port}",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}", "PYTHONPATH": str(REPO)}
    process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{slack_port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read()  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "python -m bot did not start"
                time.sleep(0.3)
        body = command_body("/suggest", "delivery to Norway", fake_api)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        with urllib.request.urlopen(urllib.request.Request(f"{url}/slack/events", body.encode(),
                                                          headers), timeout=10) as answer:
            assert answer.status == 200
        posted = fake_api.wait_for("response_url", timeout=20)[0]
        assert "knowledge base is unavailable" in posted["text"]
        assert "auth.test" in fake_api.methods()
    finally:
        process.terminate()
        process.wait(timeout=30)
