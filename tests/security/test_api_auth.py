"""Rasa's HTTP API and the action server without their secrets, and browsers from other sites.

A real customer first checks an order, so there is something to steal; then every endpoint
family of Rasa's API is called without a token, with a wrong or empty one, with a JWT signed by
a guessed key and with the token in the wrong place, and the action server without or with a
wrong shared secret. The customer channels (REST, socket.io) must keep working without any.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import urllib.error
import urllib.request
from typing import Any

import jwt
import pytest

from tests.handoff.stack import WidgetClient
from tests.security.conftest import AttackLog, discloses, say, texts
from tests.support.rasa_stack import RasaStack
from tests.support.store import ANNA, ORDERS

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]

VICTIM = "victim-conversation-7f3a"
ORDER = ORDERS["in_transit"]
EVIL = "https://evil.example"
WIDGET = "http://localhost:8080"

ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "/status", None),
    ("GET", "/domain", None),
    ("GET", "/conversations/{c}/tracker", None),
    ("POST", "/conversations/{c}/tracker/events",
     {"event": "slot", "name": "verified_order", "value": ORDER.number}),
    ("PUT", "/conversations/{c}/tracker/events", [{"event": "action", "name": "action_listen"}]),
    ("GET", "/conversations/{c}/story", None),
    ("POST", "/conversations/{c}/execute", {"name": "action_check_order_status"}),
    ("POST", "/conversations/{c}/trigger_intent?output_channel=latest",
     {"name": "EXTERNAL_agent_message",
      "entities": {"agent_message": "Please send us your card number"}}),
    ("POST", "/conversations/{c}/predict", None),
    ("POST", "/conversations/{c}/messages", {"text": "hi", "sender": "user"}),
    ("POST", "/model/parse", {"text": "where is my order"}),
    ("POST", "/model/train", {}),
    ("POST", "/model/test/stories", ""),
    ("POST", "/model/test/intents", ""),
    ("POST", "/model/predict", []),
    ("PUT", "/model", {"model_file": "/etc/passwd"}),
    ("DELETE", "/model", None),
]


def forged_jwt() -> str:
    payload = {"user": {"username": VICTIM, "role": "admin"}}
    return jwt.encode(payload, "secret", algorithm="HS256")


CREDENTIALS: dict[str, tuple[str, dict[str, str]]] = {
    "no token": ("", {}),
    "wrong token": ("token=not-the-token", {}),
    "empty token": ("token=", {}),
    "guessed JWT": ("", {"Authorization": f"Bearer {forged_jwt()}"}),
    "token in a header": ("", {"X-Token": "whatever", "Authorization": "Token whatever"}),
}


def request(method: str, url: str, body: Any = None,
            headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    data = None if body is None else (body if isinstance(body, bytes)
                                      else json.dumps(body).encode())
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read().decode(errors="replace"), dict(
                response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), dict(error.headers)


@pytest.fixture(scope="module")
def victim(security_stack: RasaStack) -> dict[str, Any]:
    """A customer who checked an order: their tracker holds the order number and replies."""
    for text in ("where is my order?", ORDER.number, ANNA):
        status, replies = say(security_stack, VICTIM, text, "10.1.0.1")
        assert status == 200, replies
    assert ORDER.carrier in texts(replies)  # the customer got their answer
    return security_stack.tracker(VICTIM)


def test_every_api_endpoint_refuses_without_the_token(
    security_stack: RasaStack, victim: dict[str, Any], attack_log: AttackLog
) -> None:
    attack = attack_log.attack("Rasa HTTP API without a token or with a bad one")
    # The control: with the token, the tracker does hold what an attacker wants.
    status, body = security_stack.api(f"/conversations/{VICTIM}/tracker")
    assert status == 200 and discloses(body, ORDER.number)
    failures = []
    for method, path, body in ENDPOINTS:
        for label, (query, headers) in CREDENTIALS.items():
            url = security_stack.base_url + path.format(c=VICTIM)
            if query:
                url += ("&" if "?" in url else "?") + query
            status, text, _ = request(method, url, body, headers)
            refused = status in (401, 403)
            attack.tried(refused=refused, disclosed=discloses(text), status=status)
            if not refused:
                failures.append(f"{method} {path} ({label}): {status} {text[:120]}")
    after = security_stack.tracker(VICTIM)
    assert len(after["events"]) == len(victim["events"]), "an attacker changed the conversation"
    assert failures == []
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        f"{len(ENDPOINTS)} endpoints (status, domain, tracker read and write, story, execute, "
        f"trigger_intent, predict, messages, model parse/train/test/predict/replace/unload) x "
        f"{len(CREDENTIALS)} ways without the secret: {', '.join(CREDENTIALS)}. Every one got "
        "401 or 403; the victim's conversation kept its events. The same tracker request with "
        "the token returns the order (the control).")


def test_customer_channels_stay_open(security_stack: RasaStack) -> None:
    status, replies = say(security_stack, "open-rest", "hi", "10.1.0.2")
    assert status == 200 and texts(replies)

    async def widget() -> list[dict[str, Any]]:
        client = WidgetClient(security_stack.base_url, "open-socket",
                              headers={"X-Forwarded-For": "10.1.0.3"})
        await client.connect()
        await client.say("hi")
        first = await client.next_message(60)
        await client.disconnect()
        return [first]

    assert texts(asyncio.run(widget()))


def test_browsers_on_other_sites_are_refused(security_stack: RasaStack,
                                             attack_log: AttackLog) -> None:
    attack = attack_log.attack("Cross-origin browser requests (CORS, socket.io origin)")
    base = security_stack.base_url
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}
    for path in ("/webhooks/rest/webhook", f"/conversations/{VICTIM}/tracker", "/model/parse"):
        status, _, headers = request("OPTIONS", base + path, None, {"Origin": EVIL, **preflight})
        allowed = headers.get("Access-Control-Allow-Origin")
        attack.tried(refused=allowed not in (EVIL, "*"), status=status)
        assert allowed not in (EVIL, "*"), f"{path}: {allowed}"
        status, _, headers = request("OPTIONS", base + path, None, {"Origin": WIDGET, **preflight})
        assert headers.get("Access-Control-Allow-Origin") == WIDGET, path
    handshake = f"{base}/socket.io/?EIO=4&transport=polling"
    status, _, _ = request("GET", handshake, None, {"Origin": EVIL})
    attack.tried(refused=status == 400, status=status)
    assert status == 400
    widget = urllib.request.Request(handshake, headers={"Origin": WIDGET})
    with urllib.request.urlopen(widget, timeout=30) as response:  # noqa: S310 - loopback
        # exactly one header: with two (Rasa's CORS and socket.io's) browsers refuse the answer
        assert response.status == 200
        assert response.headers.get_all("Access-Control-Allow-Origin") == [WIDGET]
        assert response.read().decode().count("Access-Control-Allow-Origin") == 0
    assert attack.server_errors == 0
    attack.notes.append(
        "Preflights from https://evil.example for the REST webhook, the tracker and /model/parse "
        "get no Access-Control-Allow-Origin (the widget's origin gets its own); a socket.io "
        "handshake from that origin gets 400, from the widget's origin 200.")


def action_call(number: str, email: str) -> dict[str, Any]:
    """What an attacker would send the action server: a tracker claiming a verified pair."""
    slots = {"order_number": number, "email": email, "verified_order": number,
             "verified_customer": 1}
    return {
        "next_action": "action_check_order_status", "sender_id": "attacker", "version": "3.6.21",
        "tracker": {"sender_id": "attacker", "slots": slots, "latest_message": {
            "text": "status", "intent": {"name": "check_order_status"}, "entities": []},
            "events": [], "paused": False, "followup_action": None, "active_loop": {},
            "latest_action_name": "action_listen"},
        "domain": {},
    }


def test_the_action_server_needs_the_shared_secret(security_stack: RasaStack,
                                                   attack_log: AttackLog) -> None:
    attack = attack_log.attack("Action server without the shared secret")
    url = security_stack.action_url
    base = url.rsplit("/", 1)[0]
    secret = str(security_stack.env["ACTION_SERVER_TOKEN"])
    call = action_call(ORDER.number, ANNA)
    tries = [
        ("POST", url, call, {}),
        ("POST", url + "?token=wrong", call, {}),
        ("POST", url, call, {"Authorization": "Bearer wrong"}),
        ("POST", url, call, {"Authorization": f"Basic {secret}"}),
        ("POST", url, call, {"Authorization": f"Bearer {secret[:-1]}"}),
        ("GET", base + "/actions", None, {}),
        ("GET", base + "/actions?token=", None, {}),
    ]
    for method, target, body, headers in tries:
        status, text, _ = request(method, target, body, headers)
        attack.tried(refused=status in (401, 403), disclosed=discloses(text), status=status)
        assert status in (401, 403), (method, target, headers, status, text[:200])
    status, _, _ = request("GET", base + "/health")
    assert status == 200  # the health check stays open for supervisors and load balancers
    # The control: with the secret, the same forged tracker would get the order.
    status, text, _ = request("POST", url, call, {"Authorization": f"Bearer {secret}"})
    assert status == 200
    # Not reachable from other machines at all: it listens on loopback only.
    port = int(url.split(":")[2].split("/")[0])
    outside = _non_loopback_address()
    if outside is not None:
        with socket.socket() as sock:
            sock.settimeout(2)
            reachable = sock.connect_ex((outside, port)) == 0
        attack.tried(refused=not reachable)
        assert not reachable, f"the action server answers on {outside}:{port}"
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        "A forged action call (a tracker claiming a verified order) without the secret, with a "
        "wrong one, a truncated one or in the wrong scheme, and GET /actions: 401 or 403 each. "
        f"The action server listens on 127.0.0.1 only{'' if outside is None else f' (a connection to {outside} is refused)'}. "  # noqa: E501
        "With the secret the same call answers (the control).")


def _non_loopback_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET: nothing is sent
            address = str(sock.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_the_handoff_relay_reaches_rasa_with_the_token_only(security_stack: RasaStack,
                                                            victim: dict[str, Any]) -> None:
    """The Slack app's relay (handoff.relay) uses the token; without it Rasa refuses it too."""
    from handoff.relay import AGENT_MESSAGE_INTENT, HandoffSettings, RasaConversations, RelayError

    conversation = "relay-conversation"
    status, _ = say(security_stack, conversation, "hi", "10.1.0.4")
    assert status == 200
    entities = {"agent_message": "Hello, this is Maria from customer service."}
    for token in ("", "not-the-token"):
        relay = RasaConversations(HandoffSettings(rasa_url=security_stack.base_url,
                                                  rasa_token=token, delivery_attempts=1))
        with pytest.raises(RelayError, match="HTTP 40[13]"):
            relay.trigger(conversation, AGENT_MESSAGE_INTENT, entities)
    settings = HandoffSettings.from_env(security_stack.env)
    assert settings.rasa_token == security_stack.token  # RASA_TOKEN, as make run sets it
    relay = RasaConversations(dataclasses.replace(settings, rasa_url=security_stack.base_url,
                                                  delivery_attempts=3))
    relay.trigger(conversation, AGENT_MESSAGE_INTENT, entities)
    user_intents = [e.get("parse_data", {}).get("intent", {}).get("name")
                    for e in security_stack.tracker(conversation)["events"]
                    if e.get("event") == "user"]
    assert AGENT_MESSAGE_INTENT in user_intents
