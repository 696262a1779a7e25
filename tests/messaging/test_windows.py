"""Reply windows, LINE reply tokens and the contact record (a real SQLite database)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import text

from messaging.contacts import Contact, ContactStore, conversation_id_for
from messaging.formatting import Choice, Outgoing
from messaging.line import LinePlatform
from messaging.messenger import MessengerPlatform
from messaging.platform import Delivery, Platform
from messaging.settings import MessagingSettings, channel_status
from messaging.turns import Conversations, undelivered_note
from messaging.whatsapp import WhatsAppPlatform
from rasa_addons.messages import slow_down
from rasa_addons.ratelimit import Limit, MemoryRateLimiter

KEY = "test-master-key-for-messaging-units-0123456789"


@pytest.fixture()
def contacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ContactStore:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", KEY)
    return ContactStore(f"sqlite:///{tmp_path / 'store.db'}")


def test_a_conversation_id_says_nothing_about_the_customer(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", KEY)
    wa = conversation_id_for("whatsapp", "+46701112233")
    assert wa.startswith("wa-") and "4670" not in wa and len(wa) == 27
    assert conversation_id_for("whatsapp", "+46701112233") == wa
    assert conversation_id_for("line", "+46701112233").startswith("line-")
    assert conversation_id_for("messenger", "123").startswith("fb-")


def test_the_address_is_sealed_at_rest(contacts: ContactStore) -> None:
    conversation = contacts.inbound("whatsapp", "+46701112233")
    with contacts.engine.connect() as connection:
        stored = connection.execute(text("select address from messaging_contacts")).scalar_one()
    assert "46701112233" not in stored
    contact = contacts.get(conversation)
    assert contact is not None and contact.address() == "+46701112233"


def test_line_reply_token_is_used_once_and_only_while_fresh(contacts: ContactStore) -> None:
    conversation = contacts.inbound("line", "U1", reply_token="tok1")
    assert contacts.take_reply_token(conversation, 50) == "tok1"
    assert contacts.take_reply_token(conversation, 50) is None  # used up
    contacts.inbound("line", "U1", reply_token="tok2", at=time.time() - 120)
    assert contacts.take_reply_token(conversation, 50) is None  # stale: push instead


def test_choices_are_kept_until_answered(contacts: ContactStore) -> None:
    conversation = contacts.inbound("whatsapp", "+46701112233")
    contacts.set_choices(conversation, (Choice("Ja", "/affirm"),))
    contact = contacts.get(conversation)
    assert contact is not None and contact.choices == (Choice("Ja", "/affirm"),)
    contacts.set_choices(conversation, ())
    contact = contacts.get(conversation)
    assert contact is not None and contact.choices == ()


@pytest.mark.parametrize(("platform", "hours"), [(WhatsAppPlatform, 24), (MessengerPlatform, 24)])
def test_windows_close_after_their_hours(contacts: ContactStore, platform: type[Platform],
                                         hours: int) -> None:
    turns = Conversations(platform(MessagingSettings()), contacts)
    conversation = contacts.inbound(platform.name, "user")
    contact = contacts.get(conversation)
    assert contact is not None and contact.last_inbound is not None
    assert turns.window_closed_why(contact) is None
    assert turns.window_closed_why(contact, now=contact.last_inbound + hours * 3600 - 5) is None
    why = turns.window_closed_why(contact, now=contact.last_inbound + hours * 3600 + 3600)
    assert why is not None and f"within {hours} hours" in why and "25 hours ago" in why


def test_line_has_no_window(contacts: ContactStore) -> None:
    turns = Conversations(LinePlatform(MessagingSettings()), contacts)
    contact = contacts.get(contacts.inbound("line", "U1", at=time.time() - 30 * 86400))
    assert contact is not None and turns.window_closed_why(contact) is None


def test_the_agent_is_offered_e_mail_only_for_a_verified_customer() -> None:
    verified = undelivered_note("WhatsApp", "the window closed",
                                {"verified_customer": 7.0, "verified_order": "A10001"})
    assert "Not delivered on WhatsApp: the window closed" in verified
    assert "customer #7" in verified and "/order A10001" in verified and "e-mail" in verified
    unknown = undelivered_note("Messenger", "the window closed", {})
    assert "No e-mail address is verified" in unknown


def test_channels_are_off_without_their_secrets() -> None:
    assert channel_status({}) == [
        ("whatsapp", "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM not set"),
        ("messenger", "MESSENGER_APP_SECRET, MESSENGER_VERIFY_TOKEN, MESSENGER_PAGE_TOKEN "
                      "not set"),
        ("line", "LINE_CHANNEL_SECRET, LINE_CHANNEL_TOKEN not set")]
    on = channel_status({"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_TOKEN": "t",
                         "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"})
    assert on[2] == ("line", None) and on[0] == ("whatsapp", "TWILIO_WHATSAPP_FROM not set")


def test_a_redelivered_message_is_seen_once(contacts: ContactStore) -> None:
    conversation = conversation_id_for("line", "U1")
    assert contacts.first_time(conversation, "line", "ev-1")
    assert not contacts.first_time(conversation, "line", "ev-1")
    assert contacts.first_time(conversation, "messenger", "ev-1")  # another platform's id
    with contacts.engine.connect() as connection:
        keys = connection.execute(text("select message_key from messaging_seen")).scalars().all()
    assert "ev-1" not in " ".join(keys)


class _Recording(LinePlatform):
    def __init__(self) -> None:
        super().__init__(MessagingSettings())
        self.sent: list[str] = []

    def send(self, contact: Contact, messages: Sequence[Outgoing], *,
             reply_token: str | None = None) -> Delivery:
        self.sent += [m.text for m in messages]
        return Delivery(len(messages))


async def test_over_the_conversations_message_limit_the_customer_is_asked_to_wait(
        contacts: ContactStore) -> None:
    platform = _Recording()
    turns = Conversations(platform, contacts, Limit("session", "-", 2, 60), MemoryRateLimiter())
    contact = contacts.get(contacts.inbound("line", "U1"))
    assert contact is not None
    assert not await turns.over_limit(None, contact)
    assert not await turns.over_limit(None, contact)
    assert await turns.over_limit(None, contact)
    assert platform.sent == [slow_down("en")]


def test_a_channel_without_its_secrets_has_no_webhook() -> None:
    from messaging.channel import LineInput, MessengerInput, WhatsAppInput

    def routes(channel: object) -> set[str]:
        blueprint = channel.blueprint(lambda message: None)  # type: ignore[attr-defined]
        return {route.uri for route in blueprint._future_routes}

    for channel_class in (WhatsAppInput, MessengerInput, LineInput):
        off = channel_class(MessagingSettings())
        assert off.off_reason and routes(off) == {"/"}  # the health check says why
    on = LineInput(MessagingSettings(line_channel_secret="s", line_channel_token="t"))
    assert on.off_reason is None and routes(on) == {"/", "/webhook"}
