"""The SMTP receiver over a real SMTP conversation on loopback, with the channel's webhook
replaced by a recording function (the whole path with the real Rasa server is in test_e2e.py)."""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from mail.compose import ReplyParts, compose_reply
from mail.receiver import Delivered, DeliveryFailed, DeliveryRefused, Receiver
from mail.settings import MailSettings, SmtpTarget
from mail.smtp import send_or_queue
from nordvik.secrets import unseal
from rasa_addons.ratelimit import MemoryRateLimiter
from store.models import SupportCase
from store.repository import OrderStore
from tests.mail.mails import SUPPORT, mail, raw
from tests.mail.sink import SmtpSink, text_of
from tests.support.fixtures import test_store  # noqa: F401
from tests.support.rasa_stack import free_port
from tests.support.services import unavailable

ANNA = "anna.berg@example.com"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-mail-tests-0123456789")


class Channel:
    """Stands in for the channel's webhook: records payloads, fails when told to."""

    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.failure: Exception | None = None

    def __call__(self, payload: dict[str, Any], settings: MailSettings) -> Delivered:
        self.payloads.append(payload)
        if self.failure is not None:
            raise self.failure
        return Delivered("replied", "email-test")


def settings_for(tmp_path: Path, **changes: Any) -> MailSettings:
    values: dict[str, Any] = {
        "port": free_port(), "spool_dir": tmp_path / "spool", "max_bytes": 20_000,
        "retry_seconds": 0.0, "max_attempts": 3, "sender_messages": 3,
        "webhook_token": "a-test-token-of-enough-length",
        "smtp": SmtpTarget.parse(f"file:{tmp_path / 'sent'}"),
    }
    values.update(changes)
    return MailSettings(**values)


@pytest.fixture()
def channel() -> Channel:
    return Channel()


@pytest.fixture()
async def receiver(tmp_path: Path, channel: Channel,
                   test_store: OrderStore) -> AsyncIterator[Receiver]:  # noqa: F811
    running = Receiver(settings_for(tmp_path), deliver=channel, limiter=MemoryRateLimiter())
    await running.start()
    yield running
    await running.stop()


def smtp_send(settings: MailSettings, data: bytes, *, mail_from: str = ANNA,
              to: str = SUPPORT) -> tuple[int, bytes]:
    with smtplib.SMTP(settings.host, settings.port, timeout=10) as client:
        client.ehlo()
        code, answer = client.mail(mail_from)
        assert code == 250
        code, answer = client.rcpt(to)
        if code != 250:
            return code, answer
        return client.data(data)


async def send(receiver: Receiver, data: bytes, **kwargs: Any) -> tuple[int, bytes]:
    return await asyncio.to_thread(smtp_send, receiver.settings, data, **kwargs)


async def settled(receiver: Receiver, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the receiver did not settle")
        await receiver.worker.scan()
        await asyncio.sleep(0.05)


def cases(crm: OrderStore) -> list[tuple[str, str, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(SupportCase).order_by(SupportCase.id)).scalars().all()
        return [(row.subject, row.channel, row.status) for row in rows]


async def test_a_mail_is_stored_then_handed_to_the_channel(
        receiver: Receiver, channel: Channel, caplog: pytest.LogCaptureFixture) -> None:
    code, answer = await send(receiver, raw(mail("Where is my order A10001?\n\nBest regards\nAnna",
                                                 subject="Order A10001")))
    assert code == 250 and b"queued as" in answer
    mail_id = answer.decode().rsplit(" ", 1)[1]
    await settled(receiver, lambda: receiver.spool.folder_of(mail_id) == "done")
    [payload] = channel.payloads
    assert payload["mail_id"] == mail_id
    assert payload["text"] == "Where is my order A10001?"
    assert unseal(payload["sender"], purpose="email") == ANNA
    assert ANNA not in str(payload)  # only sealed, and a keyed hash for the limits
    assert payload["language"] == "en" and payload["problems"] == []
    assert receiver.spool.read(mail_id, "done").meta["outcome"] == "replied"
    assert "anna" not in caplog.text.lower()


async def test_smtp_refuses_other_recipients_and_huge_mails(receiver: Receiver) -> None:
    code, _ = await send(receiver, raw(mail()), to="someone@else.example")
    assert code == 550
    huge = raw(mail("x" * (receiver.settings.smtp_limit_bytes + 10)))
    code, _ = await send(receiver, huge)
    assert code == 552
    assert receiver.spool.ids("incoming") == [] and receiver.spool.ids("done") == []


async def test_auto_replies_and_bounces_are_kept_and_never_answered(
        receiver: Receiver, channel: Channel) -> None:
    ooo = raw(mail("I am out of office", headers={"Auto-Submitted": "auto-replied"}))
    bounce = raw(mail("Delivery failed", sender="MAILER-DAEMON@mx.example"))
    ids = []
    for data, mail_from in ((ooo, ANNA), (bounce, "")):
        code, answer = await send(receiver, data, mail_from=mail_from)
        assert code == 250
        ids.append(answer.decode().rsplit(" ", 1)[1])
    await settled(receiver, lambda: all(receiver.spool.folder_of(i) == "skipped" for i in ids))
    assert channel.payloads == []
    reasons = [receiver.spool.read(i, "skipped").meta["reason"] for i in ids]
    assert reasons[0] == "Auto-Submitted: auto-replied"
    assert reasons[1] == "empty envelope sender (a bounce)"


async def test_a_mail_without_a_usable_sender_is_parked_with_a_case(
        receiver: Receiver, channel: Channel, test_store: OrderStore,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    data = b"From: @@@\r\nTo: support@nordvik.example\r\nSubject: hi\r\n\r\nWhere is A10001?\r\n"
    code, answer = await send(receiver, data)
    mail_id = answer.decode().rsplit(" ", 1)[1]
    await settled(receiver, lambda: receiver.spool.folder_of(mail_id) == "parked")
    assert channel.payloads == []
    [(subject, case_channel, status)] = cases(test_store)
    assert mail_id in subject and "without a usable sender" in subject
    assert (case_channel, status) == ("email", "open")
    assert receiver.spool.read(mail_id, "parked").raw == data  # kept as received
    assert f"mail {mail_id} cannot be answered" in caplog.text


async def test_malformed_mails_go_to_the_channel_with_their_problems(
        receiver: Receiver, channel: Channel, caplog: pytest.LogCaptureFixture) -> None:
    broken = (b"From: Anna Berg <anna.berg@example.com\r\nTo: support@nordvik.example\r\n"
              b"Subject: help\r\nMessage-ID: <b1@client.example>\r\n\r\nWhere is A10001?\r\n")
    big = raw(mail("see the photos", attachments=[("p.jpg", "image/jpeg", b"0" * 25_000)]))
    for data in (broken, big):
        assert (await send(receiver, data))[0] == 250
    await settled(receiver, lambda: len(receiver.spool.ids("done")) == 2)
    problems = [payload["problems"] for payload in channel.payloads]
    assert problems == [["malformed"], ["oversized"]]
    assert "From header: InvalidHeaderDefect" in caplog.text
    assert "anna" not in caplog.text.lower()


async def test_a_sender_over_the_limit_is_held(receiver: Receiver, channel: Channel) -> None:
    for number in range(5):
        assert (await send(receiver, raw(mail(f"mail {number}"))))[0] == 250
    await settled(receiver, lambda: len(receiver.spool.ids("incoming")) == 0)
    assert len(channel.payloads) == 3  # sender_messages
    assert len(receiver.spool.ids("held")) == 2
    other = raw(mail("another customer", sender="erik.lund@example.se"))
    assert (await send(receiver, other, mail_from="erik.lund@example.se"))[0] == 250
    await settled(receiver, lambda: len(channel.payloads) == 4)


async def test_delivery_is_retried_then_parked_with_a_case(
        receiver: Receiver, channel: Channel, test_store: OrderStore) -> None:  # noqa: F811
    channel.failure = DeliveryFailed("the e-mail channel answered HTTP 503")
    code, answer = await send(receiver, raw(mail("Where is A10001?")))
    mail_id = answer.decode().rsplit(" ", 1)[1]
    await settled(receiver, lambda: receiver.spool.folder_of(mail_id) == "parked")
    assert len(channel.payloads) == 3  # max_attempts
    [(subject, _, status)] = cases(test_store)
    assert "not processed" in subject and mail_id in subject and status == "open"
    assert receiver.spool.read(mail_id, "parked").meta["attempts"] == 2


async def test_a_refused_mail_is_parked_at_once(receiver: Receiver, channel: Channel) -> None:
    channel.failure = DeliveryRefused("the e-mail channel refused it (HTTP 400)")
    code, answer = await send(receiver, raw(mail("hello")))
    mail_id = answer.decode().rsplit(" ", 1)[1]
    await settled(receiver, lambda: receiver.spool.folder_of(mail_id) == "parked")
    assert len(channel.payloads) == 1


async def test_a_failed_attempt_is_retried_until_it_works(receiver: Receiver,
                                                          channel: Channel) -> None:
    channel.failure = DeliveryFailed("Rasa is restarting")
    code, answer = await send(receiver, raw(mail("hello")))
    mail_id = answer.decode().rsplit(" ", 1)[1]
    await settled(receiver, lambda: len(channel.payloads) >= 1)
    channel.failure = None
    await settled(receiver, lambda: receiver.spool.folder_of(mail_id) == "done")


async def test_mails_left_by_a_crash_are_processed_at_start(
        tmp_path: Path, channel: Channel, test_store: OrderStore) -> None:  # noqa: F811
    settings = settings_for(tmp_path)
    first = Receiver(settings, deliver=channel, limiter=MemoryRateLimiter())
    left = first.spool.store(raw(mail("stored before the crash")), {"null_sender": False})
    again = Receiver(settings, deliver=channel, limiter=MemoryRateLimiter())
    await again.start()
    try:
        await settled(again, lambda: again.spool.folder_of(left) == "done")
    finally:
        await again.stop()
    assert channel.payloads[0]["text"] == "stored before the crash"


async def test_a_spool_that_cannot_be_written_makes_the_sender_retry(
        receiver: Receiver, tmp_path: Path) -> None:
    temporary = receiver.spool.root / "tmp"
    temporary.rmdir()
    temporary.write_text("not a folder")  # every write fails, even as root
    try:
        code, answer = await send(receiver, raw(mail("hello")))
    finally:
        temporary.unlink()
        temporary.mkdir()
    assert code == 451 and b"try again later" in answer
    assert receiver.spool.ids("incoming") == []


async def test_an_unsent_reply_waits_in_the_outbox_until_smtp_takes_it(
        tmp_path: Path, channel: Channel, test_store: OrderStore) -> None:  # noqa: F811
    with SmtpSink() as sink:
        settings = settings_for(tmp_path, smtp=SmtpTarget.parse(sink.url))
        reply = compose_reply(ReplyParts(
            to=ANNA, subject="My order", reply_to="<m1@client.example>", references=(),
            language="en", paragraphs=("Your order is on its way.",)), settings)
        sink.refuse = True
        assert send_or_queue(reply, settings, conversation_id="email-x") == "queued"
        running = Receiver(settings, deliver=channel, limiter=MemoryRateLimiter())
        await running.start()
        try:
            sink.refuse = False
            await settled(running, lambda: running.spool.ids("outbox") == [], timeout=15)
        finally:
            await running.stop()
        delivered = sink.wait_for(lambda m: m["In-Reply-To"] == "<m1@client.example>", 5)
        assert "Your order is on its way." in text_of(delivered)
        assert sink.envelopes[-1] == ("support@nordvik.example", [ANNA])


@pytest.mark.redis
async def test_two_receivers_share_the_sender_limit_through_redis(
        tmp_path: Path, test_store: OrderStore) -> None:  # noqa: F811
    import uuid

    import redis

    from rasa_addons.ratelimit import RedisRateLimiter

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis at {url} is unreachable: {exc}")
    prefix = f"mailtest{uuid.uuid4().hex[:8]}"
    channel = Channel()
    receivers = [Receiver(settings_for(tmp_path / name, sender_messages=2), deliver=channel,
                          limiter=RedisRateLimiter(url, prefix)) for name in ("a", "b")]
    for running in receivers:
        await running.start()
    try:
        for number in range(4):
            await send(receivers[number % 2], raw(mail(f"mail {number}")))
        await settled(receivers[0], lambda: not receivers[0].spool.ids("incoming"))
        await settled(receivers[1], lambda: not receivers[1].spool.ids("incoming"))
    finally:
        for running in receivers:
            await running.stop()
    assert len(channel.payloads) == 2  # one limit for both receivers
    held = sum(len(running.spool.ids("held")) for running in receivers)
    assert held == 2
    keys = redis.Redis.from_url(url).keys(f"{prefix}:*")
    assert keys and all(b"anna" not in key for key in keys)
