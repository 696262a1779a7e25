"""Forged and replayed Slack requests at the Slack app's HTTP endpoint (the real Bolt app behind
bot.http_server, the fake Slack Web API on loopback, a real order store).

Forged: no signature, a wrong signing secret, a garbled or other-scheme signature, a body changed
after signing, a timestamp far in the past (a captured request replayed later) or in the future.
Replayed: an event delivered again with the same event id (a fresh, valid signature: what a
replay within Slack's five minutes looks like). None may make the app act or answer with data.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt import App

from bot.http_server import serve_in_thread
from bot.services import Services
from store.repository import OrderStore
from tests.bot.conftest import (  # noqa: F401 - fixtures of the Slack app tests
    AGENT,
    AGENT_CHANNEL,
    SECRET,
    app,
    command_body,
    event_body,
    fake_api,
    feedback,
    real_index,
    services,
    settings,
    sign,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.security.conftest import AttackLog, discloses
from tests.support.store import ORDERS, make_test_store, sqlite_url

pytestmark = [pytest.mark.security, pytest.mark.integration]

ORDER = ORDERS["in_transit"]


@pytest.fixture()
def endpoint(app: App, services: Services, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    crm: OrderStore = make_test_store(sqlite_url(tmp_path / "store.db"))
    services._store = crm
    server = serve_in_thread(app, SECRET, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    finally:
        server.shutdown()
        server.server_close()
        crm.engine.dispose()


def post(url: str, body: str, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url, body.encode(), {**headers}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def signature(body: str, ts: int, secret: str = SECRET) -> str:
    return "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(),
                            hashlib.sha256).hexdigest()


def test_forged_and_replayed_slack_requests(endpoint: str, fake_api: FakeSlackApi,  # noqa: F811
                                            attack_log: AttackLog) -> None:
    attack = attack_log.attack("Forged and replayed Slack requests")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    order_cmd = command_body("/order", ORDER.number, fake_api)
    other_cmd = command_body("/order", ORDERS["erik_in_transit"].number, fake_api)
    now = int(time.time())
    forged: dict[str, dict[str, str]] = {
        "no signature": {},
        "wrong secret": sign(order_cmd, secret="guessed-signing-secret"),
        "garbled signature": {"x-slack-request-timestamp": str(now),
                              "x-slack-signature": "v0=" + "0" * 64},
        "other scheme": {"x-slack-request-timestamp": str(now),
                         "x-slack-signature": signature(order_cmd, now).replace("v0=", "v1=")},
        "replayed 10 minutes later": {"x-slack-request-timestamp": str(now - 600),
                                      "x-slack-signature": signature(order_cmd, now - 600)},
        "timestamp in the future": {"x-slack-request-timestamp": str(now + 600),
                                    "x-slack-signature": signature(order_cmd, now + 600)},
        "no timestamp": {"x-slack-signature": signature(order_cmd, now)},
    }
    for label, headers in forged.items():
        status, text = post(endpoint, order_cmd, {**form, **headers})
        attack.tried(refused=status == 401, disclosed=discloses(text), status=status)
        assert status == 401, (label, status, text)
    # The body changed after signing: a signature of another order's request.
    status, text = post(endpoint, order_cmd, {**form, **sign(other_cmd)})
    attack.tried(refused=status == 401, disclosed=discloses(text), status=status)
    assert status == 401
    time.sleep(1.0)
    assert [m for m in fake_api.methods() if m != "auth.test"] == [], "a forged request acted"

    # Replay of an event within Slack's window: same event id, freshly signed -> handled once.
    mention = {"type": "app_mention", "user": AGENT, "text": "<@UBOT> how long is the warranty?",
               "ts": "1700000200.000100", "channel": AGENT_CHANNEL,
               "event_ts": "1700000200.000100"}
    body = event_body(mention, event_id="EvReplay1")
    json_type = {"Content-Type": "application/json"}
    first, _ = post(endpoint, body, {**json_type, **sign(body)})
    assert first == 200
    fake_api.wait_for("chat.postEphemeral")
    handled = len(fake_api.calls_to("chat.postEphemeral"))
    for _ in range(3):
        status, text = post(endpoint, body, {**json_type, **sign(body)})
        attack.tried(refused=status == 200, disclosed=discloses(text), status=status)
        assert status == 200
    time.sleep(1.0)
    assert len(fake_api.calls_to("chat.postEphemeral")) == handled, "a replayed event acted again"

    # The control: a correctly signed /order from an agent does show the order.
    status, _ = post(endpoint, order_cmd, {**form, **sign(order_cmd)})
    assert status == 200
    card = fake_api.wait_for("response_url")[0]
    assert ORDER.number in json.dumps(card)
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        f"{len(forged) + 1} forged /order requests ({', '.join(forged)}, a body changed after "
        "signing): 401 each, and the fake Slack API saw no call. An app_mention event replayed "
        "3 times with its event id and a fresh valid signature: acknowledged and dropped, "
        "handled once. A correctly signed /order from an agent shows the card (the control). "
        "Known limit: Slack's scheme accepts a captured slash command again within its "
        "five-minute window; its answer goes to Slack's response_url, not to the sender.")

