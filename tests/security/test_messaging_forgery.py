"""Forged and unsigned webhooks at the messaging channels (WhatsApp through Twilio, Messenger,
LINE) of the real Rasa server, with the platforms' send APIs faked on loopback.

Each forgery asks for a real order with its owner's e-mail, or as its owner's WhatsApp number,
so an accepted request would answer with the order. Forged: no signature, an empty one, a
signature with another secret, a body changed after signing, Meta's older SHA-1 header, a
Twilio signature for another URL, and Messenger's verify handshake with a wrong token. Each
must get 403, reach no conversation and make the bot send nothing (tests/messaging/test_e2e.py
has the control: the same requests, correctly signed, are answered).
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from messaging.send_test import Webhook, line_webhook, messenger_webhook, whatsapp_webhook
from messaging.settings import MessagingSettings
from tests.messaging import stack as fixtures
from tests.messaging.fakes import FakePlatforms
from tests.messaging.stack import MessagingStack
from tests.security.conftest import AttackLog, discloses
from tests.support.store import ANNA, ORDERS

pytestmark = [pytest.mark.security, pytest.mark.integration]

# The messaging stack (tests/messaging/stack.py): every channel on, the platforms faked.
env_patch, crm, slack = fixtures.env_patch, fixtures.crm, fixtures.slack
platforms, model, messaging_stack = fixtures.platforms, fixtures.model, fixtures.messaging_stack

ORDER = ORDERS["in_transit"].number
PHONE = "+46701112233"  # the order's customer's number: a forged WhatsApp "From"
ASK = f"Where is my order {ORDER}? {ANNA}"


def forgeries(platform: str, stack: MessagingStack) -> list[tuple[str, Webhook]]:
    good = stack.settings
    wrong = MessagingSettings(twilio_auth_token="not-the-token", twilio_account_sid="AC",
                              twilio_whatsapp_from=good.twilio_whatsapp_from,
                              messenger_app_secret="not-the-secret",
                              line_channel_secret="not-the-secret")
    base = stack.rasa.base_url
    if platform == "whatsapp":
        signed = whatsapp_webhook(good, base, PHONE, ASK)
        header = "X-Twilio-Signature"
        other_url = whatsapp_webhook(good, "https://evil.example", PHONE, ASK)
        extra = [("signed for another URL", replace(signed, headers={
            **signed.headers, header: other_url.headers[header]})),
            ("wrong auth token", whatsapp_webhook(wrong, base, PHONE, ASK))]
    elif platform == "messenger":
        signed = messenger_webhook(good, "3000000000000001", ASK)
        header = "X-Hub-Signature-256"
        sha1 = "sha1=" + hmac.new(good.messenger_app_secret.encode(), signed.body,
                                  hashlib.sha1).hexdigest()
        no_256 = {k: v for k, v in signed.headers.items() if k != header}
        extra = [("older SHA-1 header only", replace(signed, headers={
            **no_256, "X-Hub-Signature": sha1})),
            ("wrong app secret", messenger_webhook(wrong, "3000000000000001", ASK))]
    else:
        signed = line_webhook(good, "U00000000000000000000000000000f01", ASK)
        header = "X-Line-Signature"
        extra = [("wrong channel secret",
                  line_webhook(wrong, "U00000000000000000000000000000f01", ASK))]
    unsigned = {k: v for k, v in signed.headers.items() if k != header}
    return [
        ("unsigned", replace(signed, headers=unsigned)),
        ("empty signature", replace(signed, headers={**unsigned, header: ""})),
        ("body changed after signing", replace(signed, body=signed.body.replace(
            ORDER.encode(), ORDERS["delayed"].number.encode()))),
        *extra,
    ]


@pytest.mark.parametrize("platform", ["whatsapp", "messenger", "line"])
def test_forged_and_unsigned_webhooks_are_refused(
        platform: str, messaging_stack: MessagingStack, platforms: FakePlatforms,
        attack_log: AttackLog) -> None:
    attack = attack_log.attack(f"messaging webhook forgery: {platform}")
    attempts = forgeries(platform, messaging_stack)
    for _ in range(5):
        for _what, hook in attempts:
            before = len(platforms.calls)
            status, body = messaging_stack.send(hook)
            leaked = discloses(body) or len(platforms.calls) > before
            attack.tried(refused=status == 403, disclosed=leaked, status=status)
            assert status == 403, (_what, status, body)
            assert not leaked
    assert attack.disclosures == 0 and attack.server_errors == 0
    assert attack.refused == attack.attempts
    # No forged request opened a conversation: the contacts table knows none of these users.
    conversation = messaging_stack.conversation(
        platform, {"whatsapp": PHONE, "messenger": "3000000000000001",
                   "line": "U00000000000000000000000000000f01"}[platform])
    assert messaging_stack.contacts.get(conversation) is None
    attack.notes.append(
        f"{len(attempts)} kinds of forged {platform} webhook ({', '.join(w for w, _ in attempts)})"
        f", each sent 5 times, asking for order {ORDER} with its owner's e-mail"
        f"{' from the owner’s number' if platform == 'whatsapp' else ''}: every one got 403, "
        "none opened a conversation or made the bot send anything.")


def test_messenger_verify_handshake_with_a_wrong_token_is_refused(
        messaging_stack: MessagingStack, attack_log: AttackLog) -> None:
    attack = attack_log.attack("messaging webhook forgery: Messenger verify handshake")
    base = f"{messaging_stack.rasa.base_url}/webhooks/messenger/webhook"
    for query in ("hub.mode=subscribe&hub.verify_token=guess&hub.challenge=42",
                  "hub.mode=subscribe&hub.challenge=42",
                  "hub.mode=unsubscribe&hub.verify_token="
                  f"{messaging_stack.settings.messenger_verify_token}&hub.challenge=42", ""):
        try:
            with urllib.request.urlopen(f"{base}?{query}", timeout=30) as answer:  # noqa: S310
                status, body = int(answer.status), answer.read().decode()
        except urllib.error.HTTPError as error:
            status, body = int(error.code), error.read().decode()
        attack.tried(refused=status == 403, disclosed="42" in body, status=status)
        assert status == 403 and "42" not in body
    attack.notes.append("Meta's subscription check with a wrong, missing or right-but-not-"
                        "subscribe token, and none: 403 each, the challenge never echoed.")
