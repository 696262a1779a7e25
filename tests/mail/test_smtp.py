"""Sending replies: SMTP, the development folder, and the outbox when SMTP is down."""

from __future__ import annotations

import time
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from mail.compose import ReplyParts, compose_reply
from mail.send_test import find_reply
from mail.settings import MailSettings, SmtpTarget
from mail.smtp import send_or_queue
from mail.spool import Spool
from tests.mail.sink import SmtpSink, text_of
from tests.support.rasa_stack import free_port

ANNA = "anna.berg@example.com"


def reply(settings: MailSettings, reply_to: str = "<m1@client.example>") -> object:
    return compose_reply(ReplyParts(to=ANNA, subject="My order", reply_to=reply_to,
                                    references=(), language="sv",
                                    paragraphs=("Din order är på väg.",)), settings)


def test_replies_go_over_smtp(tmp_path: Path) -> None:
    with SmtpSink() as sink:
        settings = MailSettings(smtp=SmtpTarget.parse(sink.url), spool_dir=tmp_path)
        assert send_or_queue(reply(settings), settings) == "sent"  # type: ignore[arg-type]
        sent = sink.wait_for(lambda m: m["In-Reply-To"] == "<m1@client.example>", 5)
    assert sink.envelopes == [("support@nordvik.example", [ANNA])]
    assert "Din order är på väg." in text_of(sent)


def test_the_development_folder_holds_each_reply_as_a_mail(tmp_path: Path) -> None:
    settings = MailSettings(smtp=SmtpTarget.parse(f"file:{tmp_path / 'sent'}"),
                            spool_dir=tmp_path / "spool")
    started = time.time()
    assert send_or_queue(reply(settings, "<m7@client.example>"), settings) == "sent"  # type: ignore[arg-type]
    found = find_reply(tmp_path / "sent", "<m7@client.example>", started)
    assert found is not None and "Din order är på väg." in text_of(found)


def test_a_reply_smtp_does_not_take_waits_in_the_outbox(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = MailSettings(smtp=SmtpTarget.parse(f"smtp://127.0.0.1:{free_port()}"),
                            spool_dir=tmp_path / "spool", retry_seconds=30)
    message = reply(settings)
    assert send_or_queue(message, settings, conversation_id="email-abc") == "queued"  # type: ignore[arg-type]
    spool = Spool(tmp_path / "spool")
    [kept] = spool.ids("outbox")
    stored = spool.read(kept, "outbox")
    assert stored.meta["conversation_id"] == "email-abc"
    assert stored.meta["next_attempt"] > time.time() + 20
    kept_mail = BytesParser(policy=policy.default).parsebytes(stored.raw)
    assert kept_mail["To"] == ANNA and "Din order är på väg." in text_of(kept_mail)  # type: ignore[arg-type]
    assert "not sent now" in caplog.text and "anna" not in caplog.text.lower()
