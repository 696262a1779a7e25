"""The Slack app's HTTP mode as it is deployed: `python -m bot` processes (Bolt's Starlette
adapter under uvicorn) sharing retry de-duplication through the real Redis on 127.0.0.1:6379,
and the fake Slack Web API on loopback."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from bot.services import EventDedupe, RedisEventDedupe
from tests.fakes.slack_api import FakeSlackApi
from tests.support.rasa_stack import free_port
from tests.support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
SECRET = "http-mode-test-signing-secret"
REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _signed(body: str) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/json"}


def _mention(event_id: str) -> str:
    event = {"type": "app_mention", "channel": "CSUPPORT", "user": "UAGENT", "text": "<@UBOT>",
             "ts": "1700000000.000100", "event_ts": "1700000000.000100"}
    return json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1",
                       "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event,
                       "authorizations": [{"user_id": "UBOT", "team_id": "T1", "is_bot": True}]})


def _post(url: str, body: str, retry: int | None = None) -> int:
    headers = _signed(body)
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    request = urllib.request.Request(url, body.encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


@contextmanager
def _slack_app(fake: FakeSlackApi, prefix: str, log: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "SLACK_API_URL": fake.url, "SLACK_PORT": str(port), "SLACK_HOST": "127.0.0.1",
           "REDIS_URL": REDIS_URL, "SLACK_REDIS_PREFIX": prefix,
           "KB_URL": f"http://127.0.0.1:{free_port()}", "PYTHONPATH": str(ROOT)}
    env.pop("SLACK_APP_TOKEN", None)
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,  # noqa: S603
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "Slack app did not start:\n" + log.read_text()[-3000:]) from exc
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/slack/events"
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_memory_dedupe_is_per_process() -> None:
    one, other = EventDedupe(), EventDedupe()
    assert one.first_time("Ev1") and not one.first_time("Ev1")
    assert other.first_time("Ev1")  # why several processes need Redis


@pytest.mark.redis
def test_redis_dedupe_is_shared_and_expires() -> None:
    if not _redis_up():
        unavailable("no Redis server on 127.0.0.1:6379")
    prefix = f"test{uuid.uuid4().hex[:8]}"
    one = RedisEventDedupe(REDIS_URL, ttl_seconds=1, prefix=prefix)
    other = RedisEventDedupe(REDIS_URL, ttl_seconds=1, prefix=prefix)
    assert one.first_time("Ev1")
    assert not other.first_time("Ev1") and not one.first_time("Ev1")
    time.sleep(1.5)
    assert other.first_time("Ev1")  # remembered for the TTL only


def test_redis_down_falls_back_to_memory() -> None:
    dead = RedisEventDedupe(f"redis://127.0.0.1:{free_port()}/0", prefix="x")
    assert dead.first_time("Ev1") and not dead.first_time("Ev1")


@pytest.mark.integration
@pytest.mark.redis
def test_a_retry_delivered_to_another_process_is_answered_once(tmp_path: Path) -> None:
    if not _redis_up():
        unavailable("no Redis server on 127.0.0.1:6379")
    fake = FakeSlackApi().start()
    prefix = f"test{uuid.uuid4().hex[:8]}"
    with ExitStack() as stack:
        first = stack.enter_context(_slack_app(fake, prefix, tmp_path / "a.log"))
        second = stack.enter_context(_slack_app(fake, prefix, tmp_path / "b.log"))
        event_id = f"Ev{uuid.uuid4().hex[:10]}"
        assert _post(first, _mention(event_id)) == 200
        assert _post(second, _mention(event_id), retry=1) == 200  # Slack's retry, elsewhere
        assert _post(first, _mention(event_id), retry=2) == 200
        fake.wait_for("chat.postEphemeral")
        # a different event still gets its own answer from the second process
        assert _post(second, _mention(f"Ev{uuid.uuid4().hex[:10]}")) == 200
        deadline = time.monotonic() + 10
        while len(fake.calls_to("chat.postEphemeral")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # room for a (wrong) late duplicate
        assert len(fake.calls_to("chat.postEphemeral")) == 2
        # a bad signature is refused by Bolt behind the adapter
        body = _mention("EvBad")
        headers = {**_signed(body), "X-Slack-Signature": "v0=" + "0" * 64}
        request = urllib.request.Request(first, body.encode(), headers, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 - loopback
        assert refused.value.code == 401
