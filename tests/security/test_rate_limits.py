"""Messages over the limits: per conversation and per client, on REST (429) and socket.io (a
polite message in the customer's language). Never a 5xx; other customers are not affected."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from rasa_addons.messages import SLOW_DOWN
from tests.handoff.stack import WidgetClient
from tests.security.conftest import STACK_LIMITS, AttackLog, say, texts
from tests.support.rasa_stack import RasaStack

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]

PER_SESSION = int(STACK_LIMITS["RATE_SESSION_MESSAGES"])
PER_CLIENT = int(STACK_LIMITS["RATE_CLIENT_MESSAGES"])


def test_one_conversation_over_its_limit_gets_429(security_stack: RasaStack,
                                                  attack_log: AttackLog) -> None:
    attack = attack_log.attack("Over-limit message rate (REST)")
    codes = []
    for n in range(PER_SESSION + 10):
        status, body = say(security_stack, "flood-session", f"hi number {n}", "10.6.0.1")
        attack.tried(refused=status == 429, status=status)
        codes.append(status)
        if status == 429:
            assert texts(body) == SLOW_DOWN["en"]
    assert codes == [200] * PER_SESSION + [429] * 10
    # Another conversation from another address is served normally meanwhile.
    status, _ = say(security_stack, "calm-customer", "hi", "10.6.0.2")
    assert status == 200
    # A client spreading messages over many conversations hits the per-client limit.
    client_codes = []
    for n in range(PER_CLIENT + 5):
        status, body = say(security_stack, f"spread-{n}", "hej, var är mitt paket?", "10.6.0.3")
        attack.tried(refused=status == 429, status=status)
        client_codes.append(status)
    assert client_codes == [200] * PER_CLIENT + [429] * 5
    assert texts(body) == SLOW_DOWN["sv"]  # in the customer's language
    assert attack.server_errors == 0
    attack.notes.append(
        f"One conversation sent {PER_SESSION + 10} messages at once (limit {PER_SESSION} per "
        f"60 s): the last 10 got 429 with Retry-After and the polite message as the reply. One "
        f"client sent {PER_CLIENT + 5} messages over as many conversations (limit {PER_CLIENT} "
        "per 60 s): the last 5 got 429, the message in Swedish as the customer wrote. Another "
        "customer was served normally meanwhile.")


def test_a_flooding_widget_gets_a_polite_message(security_stack: RasaStack,
                                                 attack_log: AttackLog) -> None:
    attack = attack_log.attack("Over-limit message rate (socket.io)")
    flood = PER_SESSION + 5

    async def run() -> list[dict[str, Any]]:
        client = WidgetClient(security_stack.base_url, "flood-widget",
                              headers={"X-Forwarded-For": "10.7.0.1"})
        await client.connect()
        for n in range(flood):
            await client.say(f"hej {n}", language="sv")
            await client.sio.sleep(0.05)  # one event per long-polling request (at most 16 each)
        received: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + 120
        while sum(1 for r in received if r.get("text") == SLOW_DOWN["sv"]) < flood - PER_SESSION:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                received.append(await client.next_message(remaining))
            except asyncio.TimeoutError:
                break
        await client.disconnect()
        return received

    received = asyncio.run(run())
    polite = [r for r in received if r.get("text") == SLOW_DOWN["sv"]]
    for _ in range(flood):
        attack.attempts += 1
    attack.refused += len(polite)
    assert len(polite) == flood - PER_SESSION, json.dumps(received, ensure_ascii=False)[:2000]
    attack.notes.append(
        f"One widget session sent {flood} messages at once (limit {PER_SESSION} per 60 s, page "
        f"language Swedish): {len(polite)} were answered with the polite message in Swedish "
        "instead of reaching Rasa; the connection stayed open.")


def test_internal_traffic_spends_no_customer_limit_and_a_forged_token_is_refused(
        security_stack: RasaStack, attack_log: AttackLog) -> None:
    """The demo-data generator and the benches send Rasa's API token: a busy address's limit
    does not stop them, and the customers' limits still stop the address itself."""
    attack = attack_log.attack("Forged internal-traffic token on REST")
    address = "10.6.9.1"
    codes = [say(security_stack, f"busy-{n}", "hi", address)[0] for n in range(PER_CLIENT + 1)]
    assert codes == [200] * PER_CLIENT + [429]
    internal = {"X-Forwarded-For": address, "Authorization": f"Bearer {security_stack.token}"}
    served = [security_stack.post(security_stack.rest_url,
                                  {"sender": "internal-demo", "message": f"hi number {n}"},
                                  headers=internal)
              for n in range(PER_SESSION + 5)]
    assert [status for status, _ in served] == [200] * (PER_SESSION + 5)
    assert all(texts(body) and texts(body) != SLOW_DOWN["en"] for _, body in served)
    forged = [f"Bearer {security_stack.token[:-2]}xx", "Bearer ", security_stack.token,
              f"Basic {security_stack.token}"]
    for header in forged:
        status, body = security_stack.post(
            security_stack.rest_url, {"sender": "forger", "message": "where is my order?"},
            headers={"X-Forwarded-For": "10.6.9.2", "Authorization": header})
        attack.tried(refused=status == 401, status=status)
        assert status == 401 and "error" in body
    # the address that flooded is still refused as a customer
    assert say(security_stack, "busy-again", "hi", address)[0] == 429
    assert attack.server_errors == 0
    attack.notes.append(
        f"An address sent {PER_CLIENT + 1} messages (limit {PER_CLIENT}): the last got 429; from "
        f"the same address, {PER_SESSION + 5} messages carrying Rasa's API token (internal "
        "traffic: the demo data, the benches) were all answered, more than one conversation's "
        f"limit; {len(forged)} messages with a wrong token, an empty one, no scheme or the "
        "Basic scheme got 401, and the flooding address stayed refused as a customer.")
