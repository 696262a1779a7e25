"""WhatsApp's sender number as the ownership factor: sealed in the message metadata by the
channel, read back by actions.verification.channel_phone (the phone channel's entry point)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker

from actions.verification import channel_phone
from messaging.platform import Request
from messaging.settings import MessagingSettings
from messaging.whatsapp import WhatsAppPlatform

KEY = "test-master-key-for-messaging-phones-0123456789"


def tracker(channel: str, metadata: dict[str, str]) -> Tracker:
    events = [{"event": "user", "text": "hi", "input_channel": channel, "metadata": metadata}]
    return Tracker("wa-1", {}, {"text": "hi", "metadata": metadata}, events, False, None, {},
                   "action_listen")


def test_whatsapp_seals_the_senders_number_and_verification_reads_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", KEY)
    form = {"From": "whatsapp:+46701112233", "Body": "Var är min order?", "MessageSid": "SM1"}
    items = WhatsAppPlatform(MessagingSettings()).inbound(
        Request(url="http://x/webhooks/whatsapp/webhook", body=b"", headers={}, form=form))
    assert len(items) == 1
    sealed = items[0].metadata["phone"]
    assert "46701112233" not in sealed
    assert channel_phone(tracker("whatsapp", {"phone": sealed})) == "+46701112233"
    # Only a proving channel's number counts; junk and numbers sealed for other purposes do not.
    assert channel_phone(tracker("messenger", {"phone": sealed})) is None
    assert channel_phone(tracker("whatsapp", {"phone": "sealed:v1:junk"})) is None
    assert channel_phone(tracker("phone", {"phone": "+46701112233"})) == "+46701112233"
