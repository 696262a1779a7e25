""""Send it by e-mail" under a reply a messaging app's window kept from the customer.

Our parts run for real: the messaging channel's note (messaging.turns.Conversations.tell_agent,
with the real handoff.service.note_in_thread), the kept replies in a real SQLite store, the real
Bolt app with the handoff listeners taking signed block_actions requests, and the e-mail
channel's sender (mail.undelivered.UndeliveredMail: the real composer, the real send_or_queue).
Slack's Web API is the fake on loopback, the SMTP server an aiosmtpd sink on loopback, and the
Rasa server's route is a small stand-in on loopback that hands the request to the real sender
(the real route, in the real Rasa server, is exercised in tests/messaging/test_e2e.py).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import text

from bot.listeners import handoff as handoff_listeners
from handoff.relay import HandoffSettings
from handoff.undelivered import ROUTE, UndeliveredReplies
from mail.settings import MailSettings, SmtpTarget
from mail.spool import Spool, SpoolError
from mail.undelivered import InvalidRequest, UndeliveredMail, parse_request
from message_catalogue.messages import get_catalogue
from messaging.contacts import ContactStore
from messaging.settings import MessagingSettings
from messaging.turns import Conversations
from messaging.whatsapp import WhatsAppPlatform
from store.errors import StoreError
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import EMAIL, ORDER_NUMBER, customer_id, make_store
from tests.handoff.test_handoff_e2e import signed
from tests.mail.sink import SmtpSink, text_of
from tests.support.store import interactions

CHANNEL = "CHANDOFF"
THREAD = "1700000000.000001"
NOTE_TS = "1700000500.000001"
TOKEN = "rasa-token-for-the-tests"
WHY = ("the customer's last message was 25 hours ago, and WhatsApp allows replies only within 24 "
       "hours of it")
REPLY = "Hej Anna! Din soffa levereras på torsdag. " + "Detaljer: " + "x" * 2500  # > a button


class _EmailRoute:
    """The Rasa server's route on loopback: bearer check, body, the real sender, its errors."""

    def __init__(self, mail: UndeliveredMail) -> None:
        self.mail = mail
        route = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer = route.answer(self.path, self.headers.get("Authorization"), raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, path: str, authorization: str | None, raw: bytes) -> tuple[int, Any]:
        if path != ROUTE or authorization != f"Bearer {TOKEN}":
            return 401, {"error": "a valid bearer token is required"}
        try:
            reply_id, agent = parse_request(json.loads(raw))
            return 200, self.mail.send(reply_id, agent)
        except InvalidRequest as exc:
            return 400, {"error": str(exc)}
        except StoreError:
            return 503, {"error": "the store is unavailable"}
        except SpoolError:
            return 502, {"error": "the mail was neither sent nor kept"}


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path, monkeypatch)


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    for name, value in (("SLACK_API_URL", fake.url), ("SLACK_BOT_TOKEN", "xoxb-test"),
                        ("SLACK_HANDOFF_CHANNEL", CHANNEL)):
        monkeypatch.setenv(name, value)
    yield fake
    fake.stop()


@pytest.fixture()
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture()
def replies(crm: OrderStore) -> UndeliveredReplies:
    return UndeliveredReplies(str(crm.engine.url))


@pytest.fixture()
def mail_settings(tmp_path: Path, sink: SmtpSink) -> MailSettings:
    return MailSettings(smtp=SmtpTarget.parse(sink.url), spool_dir=tmp_path / "spool",
                        retry_seconds=30)


@pytest.fixture()
def route(mail_settings: MailSettings, replies: UndeliveredReplies) -> Iterator[_EmailRoute]:
    running = _EmailRoute(UndeliveredMail(mail_settings, replies))
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture()
def bolt(slack: FakeSlackApi, route: _EmailRoute) -> App:
    app = App(signing_secret="test-signing-secret",
              client=WebClient(token="xoxb-test", base_url=slack.url))
    handoff_listeners.register(app, HandoffSettings(
        channel=CHANNEL, bot_token="xoxb-test", slack_api_url=slack.url, rasa_url=route.url,
        rasa_token=TOKEN))
    return app


def open_handoff(crm: OrderStore, conversation: str) -> int:
    case = crm.open_case(subject="WhatsApp handoff", channel="whatsapp",
                         conversation_id=conversation, status="handoff")
    crm.attach_slack_thread(case.id, CHANNEL, THREAD)
    return int(case.id)


async def note_for(crm: OrderStore, slack: FakeSlackApi, conversation: str,
                   slots: dict[str, Any], reply: str = REPLY) -> dict[str, Any]:
    """The messaging channel tells the agent (window closed); the note it posted."""
    turns = Conversations(WhatsAppPlatform(MessagingSettings()),
                          ContactStore(str(crm.engine.url)))
    await turns.tell_agent(conversation, WHY, slots, reply, window_closed=True)
    return slack.wait_for_post(10.0, thread_ts=THREAD)


def press(app: App, note: dict[str, Any], agent: str = "UAGENT", thread: str = THREAD) -> int:
    """The agent presses the note's button: Slack's signed block_actions request."""
    [button] = [e for b in note["blocks"] if b["type"] == "actions" for e in b["elements"]]
    payload = {"type": "block_actions", "user": {"id": agent}, "team": {"id": "T1"},
               "api_app_id": "A1", "trigger_id": "1.2.3", "channel": {"id": CHANNEL},
               "container": {"type": "message", "message_ts": NOTE_TS},
               "message": {"ts": NOTE_TS, "thread_ts": thread, "text": note["text"],
                           "blocks": note["blocks"]},
               "actions": [{"action_id": button["action_id"], "value": button["value"],
                            "block_id": "b", "type": "button",
                            "action_ts": f"{time.time():.6f}"}]}
    body = urlencode({"payload": json.dumps(payload)})
    return app.dispatch(signed(body, "application/x-www-form-urlencoded")).status


def thread_posts(slack: FakeSlackApi, count: int) -> list[str]:
    return [str(p["text"]) for p in slack.wait_for("chat.postMessage", 10.0, count,
                                                   thread_ts=THREAD)]


def verified(crm: OrderStore, language: str) -> dict[str, Any]:
    """The slots of a conversation whose customer is verified (Rasa keeps numbers as floats)."""
    return {"verified_customer": float(customer_id(crm)), "verified_order": ORDER_NUMBER,
            "language": language}


async def test_a_verified_customers_reply_is_sent_by_e_mail_once(
        crm: OrderStore, slack: FakeSlackApi, sink: SmtpSink, bolt: App,
        replies: UndeliveredReplies, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    open_handoff(crm, "wa-anna")
    slots = verified(crm, "sv")
    note = await note_for(crm, slack, "wa-anna", slots)
    assert note["text"].startswith(f":warning: Not delivered on WhatsApp: {WHY}.")
    assert "*Send it by e-mail*" in note["text"] and "in Swedish" in note["text"]
    [button] = note["blocks"][1]["elements"]
    assert button["text"]["text"] == "Send it by e-mail" and button["value"].isdigit()
    assert note["blocks"][0]["text"]["text"] == note["text"]
    with replies.engine.connect() as connection:  # the text is kept sealed, whole
        stored = connection.execute(text("select text from undelivered_replies")).scalar_one()
    assert "Anna" not in stored
    kept = replies.get(int(button["value"]))
    assert kept is not None and kept.text == REPLY and kept.language == "sv"

    assert press(bolt, note) == 200
    mail = sink.wait_for(lambda m: True, 10)
    assert sink.envelopes == [("support@nordvik.example", [EMAIL])]  # the store's address
    sv = get_catalogue()
    assert mail["Subject"] == sv.text("utter_mail_subject_fallback", "sv")
    assert mail["Content-Language"] == "sv" and "Auto-Submitted" not in mail
    body = text_of(mail)
    why = sv.text("utter_mail_undelivered_note", "sv", platform="WhatsApp")
    assert "WhatsApp" in why and "24" in why  # why the reply came by e-mail, in Swedish
    assert body.startswith(sv.text("utter_mail_greeting", "sv") + "\n\n" + why + "\n\n" + REPLY
                           + "\n\n-- \n")
    assert sv.text("utter_mail_signature", "sv") in body
    [update] = slack.wait_for("chat.update", 10.0, ts=NOTE_TS)
    assert update["channel"] == CHANNEL
    assert [b["type"] for b in update["blocks"]] == ["section", "context"]
    assert "Sent by e-mail by <@UAGENT>" in json.dumps(update["blocks"])
    assert ("out", "email") in [(d, c) for d, c, _ in _channels(crm, "wa-anna")]
    assert [t for d, t, _ in interactions(crm, "wa-anna")] == [REPLY]
    assert replies.get(int(button["value"])).state == "sent"  # type: ignore[union-attr]

    # a second click (another agent, a retried request) sends nothing again
    assert press(bolt, note, agent="UOTHER") == 200
    updates = slack.wait_for("chat.update", 10.0, 2, ts=NOTE_TS)
    assert "Sent by e-mail by <@UAGENT>" in json.dumps(updates[-1]["blocks"])
    time.sleep(0.3)
    assert len(sink.messages) == 1 and len(interactions(crm, "wa-anna")) == 1
    ours = "\n".join(r.getMessage() for r in caplog.records
                     if r.name != "mail.log")  # aiosmtpd's, the fake SMTP peer's
    assert "kept reply" in ours
    assert EMAIL not in ours and "Anna" not in ours and "soffa" not in ours


def _channels(crm: OrderStore, conversation: str) -> list[tuple[str, str, str]]:
    with crm.engine.connect() as connection:
        rows = connection.execute(text(
            "select direction, channel, text from interactions where conversation_id = :c "
            "order by id"), {"c": conversation}).all()
    return [(str(d), str(c), str(t)) for d, c, t in rows]


async def test_an_unverified_customer_gets_no_button(
        crm: OrderStore, slack: FakeSlackApi, replies: UndeliveredReplies) -> None:
    open_handoff(crm, "wa-stranger")
    note = await note_for(crm, slack, "wa-stranger", {"language": "en"})
    assert note["text"] == (f":warning: Not delivered on WhatsApp: {WHY}. No e-mail address is "
                            "verified in this conversation: the reply reaches the customer "
                            "only if they write again.")
    assert "blocks" not in note
    with replies.engine.connect() as connection:
        assert connection.execute(text("select count(*) from undelivered_replies")).scalar() == 0


async def test_a_refusing_smtp_server_leaves_it_in_the_outbox_and_the_agent_is_told(
        crm: OrderStore, slack: FakeSlackApi, sink: SmtpSink, bolt: App,
        mail_settings: MailSettings) -> None:
    open_handoff(crm, "wa-anna2")
    slots = verified(crm, "en")
    note = await note_for(crm, slack, "wa-anna2", slots, "Your sofa arrives on Thursday.")
    sink.refuse = True
    assert press(bolt, note) == 200
    told = thread_posts(slack, 2)[-1]
    assert "did not take that e-mail at once" in told and "outbox" in told
    spool = Spool(mail_settings.spool_dir)
    [kept] = spool.ids("outbox")  # nothing lost: the receiver retries it from here
    stored = spool.read(kept, "outbox")
    assert b"Your sofa arrives on Thursday." in stored.raw and EMAIL.encode() in stored.raw
    assert stored.meta["conversation_id"] == "wa-anna2"
    [update] = slack.wait_for("chat.update", 10.0, ts=NOTE_TS)
    assert "waits in the outbox" in json.dumps(update["blocks"])
    assert press(bolt, note) == 200  # not queued twice
    slack.wait_for("chat.update", 10.0, 2, ts=NOTE_TS)
    assert len(spool.ids("outbox")) == 1 and sink.messages == []


async def test_a_mail_neither_sent_nor_kept_stays_for_another_click(
        crm: OrderStore, slack: FakeSlackApi, sink: SmtpSink, bolt: App,
        mail_settings: MailSettings, tmp_path: Path) -> None:
    open_handoff(crm, "wa-anna3")
    slots = verified(crm, "nb")
    note = await note_for(crm, slack, "wa-anna3", slots, "Sofaen kommer torsdag.")
    sink.refuse = True
    mail_settings.spool_dir.parent.mkdir(parents=True, exist_ok=True)
    mail_settings.spool_dir.write_text("not a folder")  # the outbox cannot be written either
    assert press(bolt, note) == 200
    told = thread_posts(slack, 2)[-1]
    assert "was not sent by e-mail" in told and "press *Send it by e-mail* again" in told
    assert slack.calls_to("chat.update") == []  # the button stays
    mail_settings.spool_dir.unlink()
    sink.refuse = False
    assert press(bolt, note) == 200
    mail = sink.wait_for(lambda m: True, 10)
    assert mail["Content-Language"] == "nb" and "Sofaen kommer torsdag." in text_of(mail)


async def test_the_store_down_is_told_and_the_reply_waits(
        crm: OrderStore, slack: FakeSlackApi, sink: SmtpSink, bolt: App,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import store

    open_handoff(crm, "wa-anna4")
    slots = verified(crm, "en")
    note = await note_for(crm, slack, "wa-anna4", slots, "See you soon.")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'nothing-here.db'}")
    store.get_store.cache_clear()  # the customer's address cannot be read now
    try:
        assert press(bolt, note) == 200
        told = thread_posts(slack, 2)[-1]
        assert "the order/CRM store is unavailable" in told
    finally:
        monkeypatch.setenv("DATABASE_URL", str(crm.engine.url))
        store.get_store.cache_clear()
    assert sink.messages == []
    assert press(bolt, note) == 200
    assert "See you soon." in text_of(sink.wait_for(lambda m: True, 10))


@pytest.mark.parametrize("body", [None, [], {"reply_id": "7", "agent": "U1"},
                                  {"reply_id": True, "agent": "U1"},
                                  {"reply_id": 0, "agent": "U1"}, {"reply_id": 7},
                                  {"reply_id": 7, "agent": "U" * 41}])
def test_a_bad_request_body_is_refused(body: Any) -> None:
    with pytest.raises(InvalidRequest):
        parse_request(body)
