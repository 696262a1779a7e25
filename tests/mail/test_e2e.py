"""The e-mail channel end to end: real SMTP conversations on loopback.

Customer mails go over SMTP to the project's receiver (`python -m mail`, a subprocess started as
`make run` starts it), which stores them and hands them to the real Rasa server's e-mail channel;
the real action server answers from a real SQLite store. Replies go over SMTP to a local sink
(aiosmtpd); Slack is the local fake Web API, and the agent acts through the real Bolt app's
handoff listeners with signed requests. One stack for the module; each test writes its own mail
thread.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.listeners import handoff as handoff_listeners
from handoff.relay import HandoffSettings
from mail.compose import mail_text
from mail.spool import Spool
from message_catalogue.messages import get_catalogue
from store.models import Interaction
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import csat_rows, make_store
from tests.handoff.test_handoff_e2e import SECRET, agent_reply, end_button
from tests.mail.mails import mail
from tests.mail.sink import SmtpSink, text_of
from tests.support.fixtures import rasa_model  # noqa: F401
from tests.support.rasa_stack import ROOT, RasaStack, free_port, start_rasa_stack
from tests.support.store import ANNA, ORDERS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHANNEL = "CHANDOFF"
SECRET_KEY = "test-master-key-for-the-mail-e2e-0123456789abcdef"
WEBHOOK_TOKEN = "mail-webhook-token-for-the-e2e-tests"
STRANGER = "someone.else@example.org"
IN_TRANSIT = ORDERS["in_transit"]  # Anna's, PostNord
DELAYED = ORDERS["delayed"]  # Anna's, DHL
REPLY_SECONDS = 120.0


@dataclass
class MailStack:
    rasa: RasaStack
    receiver: subprocess.Popen[bytes]
    receiver_log: Path
    port: int
    spool: Spool

    def send(self, message: EmailMessage, *, envelope_from: str | None = None) -> str:
        """One SMTP conversation with the receiver; the spool id it answered with."""
        sender = envelope_from if envelope_from is not None else message["From"].addresses[0]\
            .addr_spec
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo()
            assert client.mail(sender)[0] == 250
            assert client.rcpt("support@nordvik.example")[0] == 250
            code, answer = client.data(message.as_bytes(policy=policy.SMTP))
        assert code == 250, answer
        return answer.decode().rsplit(" ", 1)[1]

    def send_raw(self, data: bytes, envelope_from: str) -> str:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo()
            client.mail(envelope_from)
            client.rcpt("support@nordvik.example")
            code, answer = client.data(data)
        assert code == 250, answer
        return answer.decode().rsplit(" ", 1)[1]

    def processed(self, mail_id: str, timeout: float = REPLY_SECONDS) -> str:
        """Wait until the receiver is done with a mail; the folder it ended in."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            folder = self.spool.folder_of(mail_id)
            if folder not in (None, "incoming"):
                return str(folder)
            if self.receiver.poll() is not None:
                raise AssertionError(f"the receiver exited:\n{self.log()}")
            time.sleep(0.2)
        raise AssertionError(f"mail {mail_id} not processed in {timeout:.0f} s:\n{self.log()}")

    def conversation_of(self, mail_id: str) -> str:
        assert self.processed(mail_id) == "done"
        return str(self.spool.read(mail_id, "done").meta["conversation_id"])

    def log(self) -> str:
        return self.receiver_log.read_text(errors="replace")[-4000:]


@pytest.fixture(scope="module")
def env_patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory, env_patch: pytest.MonkeyPatch) -> OrderStore:
    env_patch.setenv("NORDVIK_SECRET_KEY", SECRET_KEY)
    return make_store(tmp_path_factory.mktemp("mail-store"), env_patch)


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as running:
        yield running


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> Path:
    """The project's model (trained once per session if its inputs changed), or an already
    trained one named by NORDVIK_TEST_MODEL for quick local runs."""
    given = os.environ.get("NORDVIK_TEST_MODEL")
    return Path(given) if given else Path(request.getfixturevalue("rasa_model"))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, crm: OrderStore, slack: FakeSlackApi,
          sink: SmtpSink, model: Path,
          env_patch: pytest.MonkeyPatch) -> Iterator[MailStack]:
    tmp = tmp_path_factory.mktemp("mail-stack")
    extra = {
        "NORDVIK_SECRET_KEY": SECRET_KEY, "MAIL_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SMTP_URL": sink.url, "MAIL_SPOOL_DIR": str(tmp / "spool"),
        "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_HANDOFF_CHANNEL": CHANNEL, "KB_URL": f"http://127.0.0.1:{free_port()}",
        "HANDOFF_RETRY_MS": "300", "HANDOFF_DELIVERY_ATTEMPTS": "100",
        "MAIL_RETRY_SECONDS": "2", "MAIL_MAX_BYTES": "200000",
        "MAIL_RATE_SENDER_MESSAGES": "50",
    }
    with start_rasa_stack(tmp / "rasa", str(crm.engine.url), extra, model=model) as rasa:
        port = free_port()
        env = {**rasa.env, "MAIL_PORT": str(port), "RASA_URL": rasa.base_url,
               "LOG_LEVEL": "INFO"}
        log = tmp / "receiver.log"
        with open(log, "wb") as out:
            receiver = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "mail"], cwd=ROOT, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with smtplib.SMTP("127.0.0.1", port, timeout=5) as probe:
                        probe.noop()
                    break
                except OSError:
                    if receiver.poll() is not None or time.monotonic() > deadline:
                        raise AssertionError(f"receiver did not start:\n{log.read_text()}") \
                            from None
                    time.sleep(0.3)
            for name in ("RASA_URL", "RASA_TOKEN", "SLACK_API_URL", "SLACK_BOT_TOKEN",
                         "SLACK_HANDOFF_CHANNEL", "HANDOFF_RETRY_MS",
                         "HANDOFF_DELIVERY_ATTEMPTS"):
                env_patch.setenv(name, env[name])
            yield MailStack(rasa, receiver, log, port, Spool(tmp / "spool"))
        finally:
            if receiver.poll() is None:
                os.killpg(receiver.pid, signal.SIGTERM)
                receiver.wait(timeout=20)


@pytest.fixture(scope="module")
def bolt(stack: MailStack, slack: FakeSlackApi) -> App:
    """The real Bolt app with the handoff listeners, against the fake Web API."""
    app = App(signing_secret=SECRET, client=WebClient(token="xoxb-test", base_url=slack.url))
    handoff_listeners.register(app, HandoffSettings.from_env())
    return app


def channels_of(crm: OrderStore, conversation_id: str) -> list[tuple[str, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(Interaction).where(
            Interaction.conversation_id == conversation_id).order_by(Interaction.id)).scalars()
        return [(row.direction, row.channel) for row in rows]


def reply_to(sink: SmtpSink, message: EmailMessage) -> EmailMessage:
    return sink.wait_for(lambda m: m["In-Reply-To"] == message["Message-ID"], REPLY_SECONDS)


def no_plain_address(stack: MailStack, conversation_id: str, address: str) -> None:
    tracker = json.dumps(stack.rasa.tracker(conversation_id))
    assert address not in tracker.lower()
    assert "sealed:v1:" in tracker  # the sender is in the metadata, sealed


# --- answered by the assistant -------------------------------------------------------------------


def test_an_order_status_mail_from_the_orders_address_gets_its_real_data(
        stack: MailStack, sink: SmtpSink, crm: OrderStore) -> None:
    question = mail(f"Hi,\n\nwhere is my order {IN_TRANSIT.number}? It was supposed to come "
                    "this week.\n\nBest regards,\nAnna\n\nOn Mon, 1 Dec 2026, Nordvik Home "
                    "<support@nordvik.example> wrote:\n> Thank you for your order!",
                    subject=f"Order {IN_TRANSIT.number}")
    mail_id = stack.send(question)
    reply = reply_to(sink, question)
    body = text_of(reply)
    assert IN_TRANSIT.number in body and "PostNord" in body
    assert str(IN_TRANSIT.tracking_number) in body
    assert body.startswith("Hello,")  # English, the mail's language
    assert reply["Content-Language"] == "en"
    assert reply["Subject"] == f"Re: Order {IN_TRANSIT.number}"
    assert reply["To"] == ANNA and reply["References"].endswith(question["Message-ID"])
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply.get_body(preferencelist=("html",)) is not None
    conversation = stack.conversation_of(mail_id)
    assert len(sink.replies_to(question["Message-ID"])) == 1  # one mail for the turn
    assert ("in", "email") in channels_of(crm, conversation)
    no_plain_address(stack, conversation, ANNA)


def test_a_swedish_order_status_mail_is_answered_in_swedish(
        stack: MailStack, sink: SmtpSink) -> None:
    question = mail(f"Hej!\n\nVar är min beställning {DELAYED.number}? Den skulle ha kommit "
                    "förra veckan.\n\nMed vänliga hälsningar\nAnna", subject="Min beställning")
    stack.send(question)
    reply = reply_to(sink, question)
    body = text_of(reply)
    assert DELAYED.number in body and "DHL" in body and str(DELAYED.tracking_number) in body
    assert body.startswith("Hej,") and reply["Content-Language"] == "sv"
    assert "försenad" in body  # utter_order_delayed's Swedish words


@pytest.mark.parametrize("language, sender, situation, text, greeting, content_language", [
    ("nb", "Erik Lund <erik.lund@example.se>", "erik_in_transit",
     "Hei! Hvor er bestillingen min {number}? Den skulle vært her nå.\n\nHilsen Erik",
     "Hei,", "nb"),
    ("zh", "王小明 <anna.berg@example.com>", "shipped", "您好，請問我的訂單{number}現在到哪裡了？",
     "您好：", "zh-TW"),
], ids=["nb", "zh"])
def test_norwegian_and_chinese_order_status_mails(
        stack: MailStack, sink: SmtpSink, language: str, sender: str, situation: str, text: str,
        greeting: str, content_language: str) -> None:
    order = ORDERS[situation]
    question = mail(text.format(number=order.number), sender=sender, subject=order.number)
    stack.send(question)
    reply = reply_to(sink, question)
    body = text_of(reply)
    assert order.number in body and str(order.carrier) in body
    assert str(order.tracking_number) in body
    assert body.startswith(greeting) and reply["Content-Language"] == content_language


def test_the_same_mail_from_another_address_discloses_nothing(
        stack: MailStack, sink: SmtpSink) -> None:
    replies = {}
    for number in (IN_TRANSIT.number, "A99999"):
        question = mail(f"Hi, where is my order {number}?", sender=f"Someone <{STRANGER}>",
                        subject="My order")
        stack.send(question)
        replies[number] = text_of(reply_to(sink, question))
    other = replies[IN_TRANSIT.number]
    for secret in ("PostNord", str(IN_TRANSIT.tracking_number), "Anna", "in transit"):
        assert secret not in other
    assert other.replace(IN_TRANSIT.number, "A99999") == replies["A99999"]
    not_found = get_catalogue().text("utter_order_not_found", "en", order_number="A99999")
    assert not_found in replies["A99999"]


def test_an_faq_mail_is_answered(stack: MailStack, sink: SmtpSink) -> None:
    question = mail("Hello, which payment methods do you accept? Can I pay with Klarna?",
                    sender=f"Someone <{STRANGER}>", subject="Payment")
    stack.send(question)
    body = text_of(reply_to(sink, question))
    assert get_catalogue().text("utter_faq/payment_methods", "en") in body


# --- handed to a person ---------------------------------------------------------------------------


def test_an_unclear_mail_goes_to_an_agent_whose_reply_is_mailed_in_the_thread(
        stack: MailStack, sink: SmtpSink, slack: FakeSlackApi, crm: OrderStore,
        bolt: App) -> None:
    question = mail("Do you sell replacement felt pads for the Oslo dining chairs, and would "
                    "they fit the older model from 2019?\n\nThanks\nAnna",
                    subject="Felt pads", attachments=[("chair.jpg", "image/jpeg", b"0" * 3000)])
    mail_id = stack.send(question)
    acknowledgement = reply_to(sink, question)
    conversation = stack.conversation_of(mail_id)
    case = crm.find_open_handoff(conversation)
    assert case is not None and case.channel == "email" and case.slack_thread_ts
    assert text_of(acknowledgement).startswith("Hello,")
    assert mail_text("mail_handoff_started", "en", case_id=case.id) in text_of(acknowledgement)
    [root] = [p for p in slack.posts(channel=CHANNEL)
              if str(p.get("text", "")).startswith(f"Email handoff: case #{case.id} ")]
    assert "an e-mail the bot could not answer" in json.dumps(root)
    thread = slack.wait_for_post(30.0, thread_ts=case.slack_thread_ts)
    assert "felt pads" in thread["text"] and "Subject: Felt pads" in thread["text"]
    assert "(attachment not opened: chair.jpg (image/jpeg, 3 KB))" in thread["text"]

    # the agent answers in the Slack thread -> a threaded mail to the customer
    assert agent_reply(bolt, str(case.slack_thread_ts), "Hi Anna, I'll send samples today.") \
        == 200
    answer = sink.wait_for(lambda m: "I'll send samples today" in text_of(m), REPLY_SECONDS)
    assert answer["In-Reply-To"] == question["Message-ID"]
    assert question["Message-ID"] in answer["References"]
    assert acknowledgement["Message-ID"] in answer["References"]
    assert answer["To"] == ANNA and answer["Auto-Submitted"] is None  # a person wrote it
    assert answer["Subject"] == "Re: Felt pads"

    # the customer answers the agent's mail -> the Slack thread, and no bot reply
    follow_up = mail("Thank you! Grey ones, please.", subject="Re: Felt pads",
                     in_reply_to=answer["Message-ID"],
                     references=f"{question['Message-ID']} {answer['Message-ID']}")
    assert stack.conversation_of(stack.send(follow_up)) == conversation
    posted = slack.wait_for("chat.postMessage", 30.0, count=2, thread_ts=case.slack_thread_ts)
    assert any("Grey ones, please" in str(p.get("text")) for p in posted)
    assert sink.replies_to(follow_up["Message-ID"]) == []

    # the agent ends the handoff -> the case closes; one mail: closed + the rating question
    assert end_button(bolt, str(case.slack_thread_ts), case.id, root.get("blocks") or []) == 200
    closed = sink.wait_for(lambda m: mail_text("mail_handoff_ended", "en") in text_of(m),
                           REPLY_SECONDS)
    assert "1 / 2 / 3 / 4 / 5" in text_of(closed)  # the rating buttons, as words
    assert crm.get_case(case.id).status == "closed"  # type: ignore[union-attr]
    rating = mail("5", subject="Re: Felt pads", in_reply_to=closed["Message-ID"],
                  references=f"{question['Message-ID']} {closed['Message-ID']}")
    stack.processed(stack.send(rating))
    deadline = time.monotonic() + 60
    while not [r for r in csat_rows(crm) if r.conversation_id == conversation]:
        assert time.monotonic() < deadline, "the rating was not stored"
        time.sleep(0.5)
    [row] = [r for r in csat_rows(crm) if r.conversation_id == conversation]
    assert (row.rating, row.case_id) == (5, case.id)
    recorded = channels_of(crm, conversation)
    assert ("in", "email") in recorded and ("in", "chat") not in recorded


def test_a_complaint_by_subject_goes_to_a_person(stack: MailStack, sink: SmtpSink,
                                                 slack: FakeSlackApi, crm: OrderStore) -> None:
    delivered = ORDERS["delivered"].number
    question = mail(f"Lampan i order {delivered} kom trasig och ingen har svarat på två veckor.",
                    subject="Reklamation", sender="Anna Berg <anna.berg@example.com>")
    conversation = stack.conversation_of(stack.send(question))
    acknowledgement = text_of(reply_to(sink, question))
    case = crm.find_open_handoff(conversation)
    assert case is not None and "a complaint by e-mail" in case.subject
    assert case.order_number == delivered  # the sender's own order, for the agent
    assert acknowledgement.startswith("Hej,")
    assert mail_text("mail_handoff_started", "sv", case_id=case.id) in acknowledgement


# --- never answered, or kept for a person ------------------------------------------------------


def test_auto_replies_and_bounces_are_not_answered(stack: MailStack, sink: SmtpSink) -> None:
    out_of_office = mail("I am out of office until Monday.", subject="Re: Your order",
                         headers={"Auto-Submitted": "auto-replied"})
    bounce = mail("Delivery to the following recipient failed permanently.",
                  sender="Mail Delivery Subsystem <mailer-daemon@mx.example.com>",
                  subject="Delivery Status Notification (Failure)")
    ids = [stack.send(out_of_office), stack.send(bounce, envelope_from="")]
    assert [stack.processed(i) for i in ids] == ["skipped", "skipped"]
    # a mail after them is answered, so the receiver got past them without replying
    later = mail("Which payment methods do you accept?", sender=f"Someone <{STRANGER}>")
    stack.send(later)
    reply_to(sink, later)
    assert sink.replies_to(out_of_office["Message-ID"]) == []
    assert sink.replies_to(bounce["Message-ID"]) == []


def test_a_malformed_mail_is_logged_and_kept(stack: MailStack, sink: SmtpSink,
                                             crm: OrderStore) -> None:
    message_id = f"<malformed-{time.time_ns()}@client.example>"
    broken = (f"From: Anna Berg <{ANNA}\r\nTo: support@nordvik.example\r\n"
              f"Subject: help\r\nMessage-ID: {message_id}\r\n\r\n"
              f"Where is {IN_TRANSIT.number}?\r\n").encode()
    mail_id = stack.send_raw(broken, ANNA)
    assert stack.processed(mail_id) == "done"
    assert stack.spool.read(mail_id, "done").raw == broken  # kept as received
    log = stack.log()
    assert f"mail {mail_id} has problems (malformed): From header: InvalidHeaderDefect" in log
    assert ANNA not in log and "anna.berg" not in log.lower()
    conversation = str(stack.spool.read(mail_id, "done").meta["conversation_id"])
    case = crm.find_open_handoff(conversation)
    assert case is not None and case.channel == "email"
    acknowledgement = sink.wait_for(lambda m: m["In-Reply-To"] == message_id, REPLY_SECONDS)
    assert f"#{case.id}" in text_of(acknowledgement)

    no_sender = (b"From: @@@\r\nTo: support@nordvik.example\r\nSubject: ?\r\n\r\nhello\r\n")
    parked = stack.send_raw(no_sender, STRANGER)
    assert stack.processed(parked) == "parked"
    assert stack.spool.read(parked, "parked").raw == no_sender
    assert f"mail {parked} cannot be answered" in stack.log()


# --- the internal webhook ----------------------------------------------------------------------


def test_the_channels_webhook_needs_the_receivers_secret(stack: MailStack) -> None:
    url = f"{stack.rasa.base_url}/webhooks/email/inbound"
    body = {"mail_id": "x", "message_id": "<x@y>", "sender": "sealed:v1:forged",
            "client": "c", "text": "where is my order A10001?"}
    assert stack.rasa.post(url, body)[0] == 401
    assert stack.rasa.post(url, body, headers={"Authorization": "Bearer wrong"})[0] == 401
    # Rasa's own API token is not this secret either
    assert stack.rasa.post(url, body,
                           headers={"Authorization": f"Bearer {stack.rasa.token}"})[0] == 401
    secret = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    status, answer = stack.rasa.post(url, body, headers=secret)
    assert status == 400 and "sealed" in str(answer)
    assert stack.rasa.post(url, {"mail_id": 5}, headers=secret)[0] == 400
    assert stack.rasa.post(url, ["not", "an", "object"], headers=secret)[0] == 400  # type: ignore[arg-type]


def test_the_send_test_command_that_make_run_prints(stack: MailStack, sink: SmtpSink) -> None:
    env = {**stack.rasa.env, "MAIL_PORT": str(stack.port)}
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "mail.send_test", "--from", STRANGER, "--subject", "Payment",
         "Which payment methods do you accept?"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True)
    sent = done.stdout.split()[1]  # "sent <Message-ID> to ..."
    assert sent.startswith("<") and f"the reply goes to {STRANGER}" in done.stdout
    reply = sink.wait_for(lambda m: m["In-Reply-To"] == sent, REPLY_SECONDS)
    assert reply["Subject"] == "Re: Payment"


def test_oversized_and_undecodable_mails_go_to_a_person_unread(
        stack: MailStack, sink: SmtpSink, crm: OrderStore) -> None:
    oversized = mail("Photos of the broken lamp attached.", subject="Broken lamp",
                     attachments=[("lamp.jpg", "image/jpeg", b"\xff" * 220_000)])
    undecodable = (b"From: Anna Berg <anna.berg@example.com>\r\nTo: support@nordvik.example\r\n"
                   b"Subject: Fr\xe5ga\r\nMessage-ID: <latin-" + str(time.time_ns()).encode()
                   + b"@client.example>\r\nMIME-Version: 1.0\r\n"
                   b"Content-Type: text/plain; charset=utf-8\r\n"
                   b"Content-Transfer-Encoding: 8bit\r\n\r\n"
                   b"Var \xe4r min best\xe4llning?\r\n")
    ids = [stack.send(oversized), stack.send_raw(undecodable, ANNA)]
    notes = ("the mail is too large to be read automatically",
             "the mail's text could not be decoded reliably")
    for mail_id, note in zip(ids, notes, strict=True):
        conversation = stack.conversation_of(mail_id)
        case = crm.find_open_handoff(conversation)
        assert case is not None and case.channel == "email"
        assert any(note in text for _, text, _ in interactions_of(crm, conversation))
    log = stack.log()
    assert f"mail {ids[0]} has problems (oversized)" in log
    assert f"mail {ids[1]} has problems (charset)" in log
    assert "anna.berg" not in log.lower()
    acknowledgement = reply_to(sink, oversized)
    assert "#" in text_of(acknowledgement)


def interactions_of(crm: OrderStore, conversation_id: str) -> list[tuple[str, str, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(Interaction).where(
            Interaction.conversation_id == conversation_id).order_by(Interaction.id)).scalars()
        return [(row.direction, row.text, row.channel) for row in rows]
