"""Forged, replayed and unsigned Twilio webhooks at the phone channel (voice/): every one is
refused with 403 before anything is said or run, and none discloses an order. Counted in
reports/security.md through tests/security/conftest.py's attack log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.security.conftest import AttackLog
from tests.support.rasa_stack import RasaStack
from tests.support.store import make_test_store, sqlite_url
from tests.voice.support import CALLERS, OTHER_CALLER, Call, add_callers, voice_stack
from voice.player import Page
from voice.security import sign
from voice.speech import spoken_order_number

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]
ATTACK = "Forged, replayed and unsigned phone webhooks (Twilio Voice)"
STEPS = ("call", "menu", "gather", "dial", "csat", "end", "status")


@pytest.fixture(scope="module")
def phone_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[RasaStack, OrderStore]]:
    crm = make_test_store(sqlite_url(tmp_path_factory.mktemp("voice-sec") / "store.db"))
    add_callers(crm)
    with FakeSlackApi() as slack, voice_stack(
            tmp_path_factory.mktemp("voice-sec-stack"), crm, slack, "mon-sun 00:00-24:00",
            rasa_model) as stack:
        yield stack, crm


def discloses(page: Page, number: str) -> bool:
    return page.status == 200 and (
        "PostNord" in page.xml or spoken_order_number(number) in page.xml or "<Dial" in page.xml)


def test_forged_replayed_and_unsigned_webhooks(phone_stack: tuple[RasaStack, OrderStore],
                                               attack_log: AttackLog) -> None:
    stack, _ = phone_stack
    attack = attack_log.attack(ATTACK)
    target = CALLERS["sv"]
    base = f"{stack.base_url}/webhooks/phone"

    def tried(page: Page) -> None:
        refused = page.status == 403
        attack.tried(refused=refused, disclosed=discloses(page, target.status_order),
                     status=page.status)
        assert refused, (page.status, page.xml)

    # The attacker's own, genuine call (the control): answered.
    call = Call(stack, "sv", caller=OTHER_CALLER)
    assert call.start().status == 200
    asked = call.say("var är mitt paket")
    assert asked.status == 200 and asked.gather_action
    gather = asked.gather_action
    order = {"Digits": target.status_order[1:]}
    for step in STEPS:
        url = f"{base}/{step}?l=sv&n=9"
        tried(call.post(url, order, signature=None))  # unsigned
        tried(call.post(url, order, signature=""))  # empty header
        tried(call.post(url, order, signature=sign("not-the-token", url, call.fields)))
    # Caller-ID spoofing: the customer's own number in From, signed for the attacker's fields.
    spoofed = {**call.fields, **order, "From": target.phone}
    signature = sign("twilio-test-auth-token", gather, {**call.fields, **order})
    tried(call.send(gather, spoofed, {"X-Twilio-Signature": signature,
                                      "Content-Type": "application/x-www-form-urlencoded"}))
    # The URL's state changed after signing (step, language, what was asked, a choice).
    for changed in (gather.replace("n=", "n=1"), gather + "&k=order", gather + "&c1=/affirm",
                    gather.replace("l=sv", "l=en")):
        fields = {**call.fields, **order}
        headers = {"X-Twilio-Signature": sign("twilio-test-auth-token", gather, fields),
                   "Content-Type": "application/x-www-form-urlencoded"}
        tried(call.send(changed, fields, headers))
    # Replays: every genuine request of the call, sent again as it was.
    for url, fields, headers in list(call.requests[:2]):
        if headers.get("X-Twilio-Signature") == sign("twilio-test-auth-token", url, fields):
            tried(call.send(url, fields, headers))
    # The genuine next step still works, and asks for the postcode: nothing disclosed.
    page = call.press(target.status_order[1:])
    assert page.status == 200 and not discloses(page, target.status_order)
    tried(call.replay_last())
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        f"{attack.attempts} requests at the phone channel's webhooks ({', '.join(STEPS)}): "
        "without X-Twilio-Signature, with an empty one, signed with another auth token, with "
        "the caller ID changed to the order customer's number after signing (to pass the "
        "caller-ID check), with the URL's call state changed after signing (step, language, "
        "what was asked, a keypad choice), and genuine requests of a call replayed as they "
        "were: 403 each, before Rasa ran. The attacker's genuine call (the control) is "
        "answered, and giving a customer's order number from another number asks for the "
        "delivery postcode: nothing about the order was said.")
