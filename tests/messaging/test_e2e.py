"""WhatsApp, Messenger and LINE end to end: signed webhooks to the real Rasa server's channels,
the real action server on a real SQLite store, the platforms' send APIs and Slack's Web API
faked on loopback, and the agent's replies through the real Bolt app's handoff listeners.

Per channel: an order status in two languages (WhatsApp verified by the sender's phone, LINE
in Traditional Chinese), an FAQ, a message that is not text, a handoff whose agent reply from
Slack arrives on the same channel, and a reply after the window has closed (LINE: a late agent
reply sent as a push; WhatsApp, verified customer: "Send it by e-mail" pressed in the real Bolt
app, mailed by the real Rasa server's e-mail channel). One stack for the module; each test has
its own customers.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from slack_bolt import App
from sqlalchemy import select
from sqlalchemy.orm import Session

from message_catalogue.formatting import order_status_message
from message_catalogue.messages import get_catalogue
from messaging.send_test import Webhook, line_webhook, messenger_webhook, whatsapp_webhook
from messaging.signatures import line_signature
from messaging.turns import client_key
from nordvik.text import redact_emails
from store.models import Interaction
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.test_handoff_e2e import agent_reply
from tests.handoff.test_send_by_email import NOTE_TS
from tests.handoff.test_send_by_email import press as press_send_by_email
from tests.mail.sink import text_of
from tests.messaging.fakes import FakePlatforms
from tests.messaging.stack import CHANNEL, MessagingStack, wait_until
from tests.support.rasa_stack import ROOT
from tests.support.store import ANNA, ORDERS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ANNA_PHONE = "+46701112233"  # Anna's number in the test store ("+46 70 111 22 33")


def status_text(crm: OrderStore, number: str, language: str) -> str:
    order = crm.get_order(number)
    assert order is not None
    name, params = order_status_message(order, language)
    return get_catalogue().text(name, language, **params)


def catalogue(name: str, language: str, **params: Any) -> str:
    return get_catalogue().text(name, language, **params)


def channels_of(crm: OrderStore, conversation: str) -> list[tuple[str, str, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(Interaction).where(
            Interaction.conversation_id == conversation).order_by(Interaction.id)).scalars()
        return [(row.direction, row.channel, row.text) for row in rows]


class Customer:
    """One customer on one platform: sends signed webhooks, reads what the fake API got."""

    def __init__(self, stack: MessagingStack, platforms: FakePlatforms, platform: str,
                 user: str) -> None:
        self.stack, self.platforms, self.platform, self.user = stack, platforms, platform, user
        self.conversation = stack.conversation(platform, user)

    def say(self, text: str | None = None, **kind: Any) -> list[str]:
        s = self.stack.settings
        token = f"rt-{time.time_ns()}"
        if self.platform == "whatsapp":
            hook = whatsapp_webhook(s, self.stack.rasa.base_url, self.user, text,
                                    kind.get("media"))
        elif self.platform == "messenger":
            hook = messenger_webhook(s, self.user, text, kind.get("attachment"))
        else:
            hook = line_webhook(s, self.user, text, kind.get("kind"), reply_token=token)
        before = len(self.platforms.calls)
        status, body = self.stack.send(hook)
        assert status == 200, f"{status} {body}\n{self.stack.log()}"
        mine = self.platforms.calls[before:]
        if self.platform == "line":
            assert all(c.kind == "line_reply" for c in mine if c.recipient == token)
            return [t for c in mine if c.recipient == token for t in c.texts]
        recipient = f"whatsapp:{self.user}" if self.platform == "whatsapp" else self.user
        return [t for c in mine if c.recipient == recipient for t in c.texts]

    def wait_for_text(self, text: str, kinds: tuple[str, ...]) -> None:
        recipient = f"whatsapp:{self.user}" if self.platform == "whatsapp" else self.user
        wait_until(lambda: text in self.platforms.texts_to(kinds, recipient), 60.0,
                   f"{text!r} on {self.platform}")


def hand_off(customer: Customer, crm: OrderStore, slack: FakeSlackApi, bolt: App,
             label: str) -> str:
    said = customer.say("I want to talk to a person")
    assert any("case #" in t for t in said), said
    case = crm.find_open_handoff(customer.conversation)
    assert case is not None and case.slack_thread_ts and case.channel == customer.platform
    roots = [p for p in slack.posts(channel=CHANNEL) if "thread_ts" not in p
             and str(p.get("text", "")).startswith(f"{label} handoff: case #{case.id} ")]
    assert len(roots) == 1
    return str(case.slack_thread_ts)


# --- LINE ---------------------------------------------------------------------------------------


def test_line_order_status_in_traditional_chinese_and_english(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore) -> None:
    zh = Customer(messaging_stack, platforms, "line", "U00000000000000000000000000000a01")
    number = ORDERS["in_transit"].number
    asked = zh.say(f"我的訂單{number}到哪了？")
    assert asked == [catalogue("utter_ask_email", "zh", order_number=number)]
    assert zh.say(ANNA) == [status_text(crm, number, "zh")]
    en = Customer(messaging_stack, platforms, "line", "U00000000000000000000000000000a02")
    delayed = ORDERS["delayed"].number
    assert en.say(f"Where is my order {delayed}?") == [
        catalogue("utter_ask_email", "en", order_number=delayed)]
    assert en.say(ANNA) == [status_text(crm, delayed, "en")]
    assert {channel for _, channel, _ in channels_of(crm, zh.conversation)} == {"line"}


def test_line_faq_sticker_and_late_agent_reply_as_a_push(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore,
        slack: FakeSlackApi, bolt: App) -> None:
    customer = Customer(messaging_stack, platforms, "line", "U00000000000000000000000000000a03")
    assert customer.say("有哪些付款方式") == [catalogue("utter_faq/payment_methods", "zh")]
    assert customer.say(kind="sticker") == [catalogue("utter_messaging_not_text", "zh")]
    recorded = channels_of(crm, customer.conversation)
    assert ("in", "line", "[sticker sent on LINE: sticker 446/1988]") in recorded
    thread = hand_off(customer, crm, slack, bolt, "LINE")
    time.sleep(1.0)  # the reply token of the customer's last message is spent by now
    assert agent_reply(bolt, thread, "您好，我是客服 Sara。") == 200
    customer.wait_for_text("您好，我是客服 Sara。", ("line_push",))
    assert not [c for c in platforms.calls_to("line_reply") if "Sara" in " ".join(c.texts)]


# --- Messenger ----------------------------------------------------------------------------------


def test_messenger_order_status_in_swedish_and_english(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore) -> None:
    sv = Customer(messaging_stack, platforms, "messenger", "2000000000000001")
    number = ORDERS["delayed"].number
    assert sv.say(f"Var är min beställning {number}?") == [
        catalogue("utter_ask_email", "sv", order_number=number)]
    assert sv.say(ANNA) == [status_text(crm, number, "sv")]
    en = Customer(messaging_stack, platforms, "messenger", "2000000000000002")
    paid = ORDERS["paid"].number
    assert en.say(f"Where is my order {paid}?") == [
        catalogue("utter_ask_email", "en", order_number=paid)]
    assert en.say(ANNA) == [status_text(crm, paid, "en")]
    assert {channel for _, channel, _ in channels_of(crm, en.conversation)} == {"messenger"}


def test_messenger_faq_image_handoff_and_closed_window(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore,
        slack: FakeSlackApi, bolt: App) -> None:
    customer = Customer(messaging_stack, platforms, "messenger", "2000000000000003")
    assert customer.say("which payment methods are available") == [
        catalogue("utter_faq/payment_methods", "en")]
    assert customer.say(attachment="image") == [catalogue("utter_messaging_not_text", "en")]
    thread = hand_off(customer, crm, slack, bolt, "Messenger")
    assert agent_reply(bolt, thread, "Hi, Sara here. Let me look.") == 200
    customer.wait_for_text("Hi, Sara here. Let me look.", ("messenger",))
    messaging_stack.contacts.set_last_inbound(customer.conversation, time.time() - 25 * 3600)
    assert agent_reply(bolt, thread, "Are you still there?") == 200
    wait_until(lambda: any("Not delivered on Messenger" in str(p.get("text"))
                           for p in slack.posts(thread_ts=thread)), 60.0, "the agent's note")
    note = [p for p in slack.posts(thread_ts=thread) if "Not delivered" in str(p.get("text"))][0]
    assert "within 24 hours" in note["text"] and "No e-mail address is verified" in note["text"]
    assert "Are you still there?" not in platforms.texts_to(("messenger",), customer.user)


def test_messenger_image_during_a_handoff_and_the_platforms_own_window_refusal(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore,
        slack: FakeSlackApi, bolt: App) -> None:
    customer = Customer(messaging_stack, platforms, "messenger", "2000000000000004")
    thread = hand_off(customer, crm, slack, bolt, "Messenger")
    assert customer.say(attachment="image") == [
        catalogue("utter_messaging_not_text_handoff", "en")]
    forwarded = slack.wait_for_post(30.0, thread_ts=thread)
    assert forwarded["text"] == ("Customer: [image sent on Messenger: "
                                 "https://scontent.example/1.jpg]")
    # Meta refuses the send itself (the window closed by its clock): the agent is told too.
    platforms.fail["messenger"] = (400, {"error": {"code": 10, "error_subcode": 2018278}})
    try:
        assert agent_reply(bolt, thread, "Sorry for the wait!") == 200
        wait_until(lambda: any("Not delivered on Messenger" in str(p.get("text"))
                               for p in slack.posts(thread_ts=thread)), 60.0, "the note")
    finally:
        platforms.fail.pop("messenger")
    note = [p for p in slack.posts(thread_ts=thread) if "Not delivered" in str(p.get("text"))][0]
    assert "Messenger refused it because its reply window has closed" in note["text"]


def test_messenger_verify_handshake(messaging_stack: MessagingStack) -> None:
    token = messaging_stack.settings.messenger_verify_token
    url = (f"{messaging_stack.rasa.base_url}/webhooks/messenger/webhook?hub.mode=subscribe"
           f"&hub.verify_token={token}&hub.challenge=8675309")
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback
        assert answer.read() == b"8675309"


# --- WhatsApp -----------------------------------------------------------------------------------


def test_whatsapp_order_status_verified_by_phone_in_english_and_swedish(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore) -> None:
    anna = Customer(messaging_stack, platforms, "whatsapp", ANNA_PHONE)
    number = ORDERS["in_transit"].number
    assert anna.say(f"Where is my order {number}?") == [status_text(crm, number, "en")]
    shipped = ORDERS["shipped"].number
    assert anna.say(f"Var är min beställning {shipped}?") == [status_text(crm, shipped, "sv")]
    assert {channel for _, channel, _ in channels_of(crm, anna.conversation)} == {"whatsapp"}
    stranger = Customer(messaging_stack, platforms, "whatsapp", "+46709999999")
    assert stranger.say(f"Where is my order {number}?") == [
        catalogue("utter_ask_email", "en", order_number=number)]


def test_whatsapp_numbered_choice_faq_voice_note_handoff_and_closed_window(
        messaging_stack: MessagingStack, platforms: FakePlatforms, crm: OrderStore,
        slack: FakeSlackApi, bolt: App) -> None:
    anna = Customer(messaging_stack, platforms, "whatsapp", ANNA_PHONE)
    paid = ORDERS["paid"].number
    confirm = anna.say(f"Kan jag avbeställa order {paid}?")
    assert len(confirm) == 1 and confirm[0].endswith(
        "\n\n1. Ja, avbeställ den\n2. Nej, behåll den\n\nSvara med siffran för ditt val."), confirm
    assert anna.say("2") == [catalogue("utter_cancel_kept", "sv", order_number=paid)]
    order = crm.get_order(paid)
    assert order is not None and order.status == "paid"
    assert anna.say("vilka betalsätt har ni") == [catalogue("utter_faq/payment_methods", "sv")]
    assert anna.say(media="audio/ogg") == [catalogue("utter_messaging_not_text", "sv")]
    assert ("in", "whatsapp", "[voice sent on WhatsApp: https://api.twilio.com/2010-04-01/"
            "Accounts/AC/Messages/MM/Media/1]") in channels_of(crm, anna.conversation)
    thread = hand_off(anna, crm, slack, bolt, "WhatsApp")
    assert agent_reply(bolt, thread, "Hej Anna, Sara här.") == 200
    anna.wait_for_text("Hej Anna, Sara här.", ("whatsapp",))
    messaging_stack.contacts.set_last_inbound(anna.conversation, time.time() - 25 * 3600)
    assert agent_reply(bolt, thread, "Är du kvar?") == 200
    wait_until(lambda: any("Not delivered on WhatsApp" in str(p.get("text"))
                           for p in slack.posts(thread_ts=thread)), 60.0, "the agent's note")
    note = [p for p in slack.posts(thread_ts=thread) if "Not delivered" in str(p.get("text"))][0]
    assert "within 24 hours" in note["text"] and "*Send it by e-mail*" in note["text"]
    assert "Är du kvar?" not in platforms.texts_to(("whatsapp",), f"whatsapp:{anna.user}")
    send_by_email(messaging_stack, crm, slack, bolt, anna, note)


def send_by_email(stack: MessagingStack, crm: OrderStore, slack: FakeSlackApi, bolt: App,
                  anna: Customer, note: dict[str, Any]) -> None:
    """The note's button, pressed twice: one mail to the address on file, in the note's
    language, recorded on channel email; the note says who sent it."""
    route = f"{stack.rasa.base_url}/webhooks/email/undelivered"
    assert stack.rasa.post(route, {"reply_id": 1, "agent": "U1"})[0] == 401
    assert stack.rasa.post(route, {"reply_id": 1, "agent": "U1"},
                           headers={"Authorization": "Bearer wrong"})[0] == 401
    [button] = note["blocks"][1]["elements"]
    assert button["text"]["text"] == "Send it by e-mail"
    language = "sv" if "in Swedish" in note["text"] else "en"
    assert f"in {'Swedish' if language == 'sv' else 'English'}" in note["text"]
    thread = str(note["thread_ts"])
    assert press_send_by_email(bolt, note, thread=thread) == 200
    update = slack.wait_for("chat.update", 60.0, ts=NOTE_TS)[-1]
    assert "Sent by e-mail by <@UAGENT>" in str(update["blocks"])
    [path] = wait_until(lambda: list(stack.sent_mail.glob("*.eml")), 30.0, "the mail")
    mail = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert mail["To"] == ANNA and mail["Content-Language"] == language
    why = catalogue("utter_mail_undelivered_note", language, platform="WhatsApp")
    assert "WhatsApp" in why and "{" not in why  # it says why the reply came by e-mail
    assert text_of(mail).startswith(
        catalogue("utter_mail_greeting", language) + "\n\n" + why + "\n\nÄr du kvar?")
    assert ("out", "email", "Är du kvar?") in channels_of(crm, anna.conversation)
    assert press_send_by_email(bolt, note, thread=thread) == 200  # a second press: no mail
    slack.wait_for("chat.update", 60.0, 2, ts=NOTE_TS)
    assert len(list(stack.sent_mail.glob("*.eml"))) == 1


# --- the try-it script and the message metadata -------------------------------------------------


def test_send_test_prints_what_the_bot_would_send_back(
        messaging_stack: MessagingStack, platforms: FakePlatforms) -> None:
    env = {**messaging_stack.rasa.env, "RASA_URL": messaging_stack.rasa.base_url}
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "messaging.send_test", "--user", "+46705550000",
         "What are your opening hours?"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300, check=True)
    lines = done.stdout.splitlines()
    hours = catalogue("utter_faq/contact_hours", "en")
    for platform in ("whatsapp", "messenger", "line"):
        assert f"{platform}: webhook answered HTTP 200" in lines, done.stdout
    # read back from the conversation, where addresses are stored masked
    assert lines.count(f"  bot: {redact_emails(hours)}") == 3, done.stdout
    # The same replies reached the platforms' APIs.
    assert hours in platforms.texts_to(("whatsapp",), "whatsapp:+46705550000")


def test_messages_carry_the_client_key_for_the_guessing_limits(
        messaging_stack: MessagingStack, platforms: FakePlatforms) -> None:
    customer = Customer(messaging_stack, platforms, "messenger", "2000000000000009")
    customer.say("hello")
    tracker = messaging_stack.rasa.tracker(customer.conversation)
    metadata = tracker["latest_message"]["metadata"]
    assert metadata == {"client": client_key("messenger", "2000000000000009")}
    assert tracker["latest_input_channel"] == "messenger"


def test_a_redelivered_webhook_is_answered_once(
        messaging_stack: MessagingStack, platforms: FakePlatforms) -> None:
    hook = messenger_webhook(messaging_stack.settings, "2000000000000010", "hello there")
    before = len(platforms.calls_to("messenger", "2000000000000010"))
    assert messaging_stack.send(hook)[0] == 200
    first = len(platforms.calls_to("messenger", "2000000000000010"))
    assert first > before
    assert messaging_stack.send(hook)[0] == 200  # Meta delivers it again
    assert len(platforms.calls_to("messenger", "2000000000000010")) == first


def test_lines_verify_button_and_a_channel_health_check(
        messaging_stack: MessagingStack) -> None:
    settings = messaging_stack.settings
    body = b'{"destination": "Ubot", "events": []}'
    hook = Webhook("/webhooks/line/webhook", body, {
        "Content-Type": "application/json",
        "X-Line-Signature": line_signature(settings.line_channel_secret, body)})
    assert messaging_stack.send(hook)[0] == 200
    url = f"{messaging_stack.rasa.base_url}/webhooks/whatsapp/"
    with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - loopback
        assert answer.read() == b'{"status":"ok"}'
