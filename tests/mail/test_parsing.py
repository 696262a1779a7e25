"""Reading inbound mails: robots, threads, quotes and signatures, charsets, defects, attachments."""

from __future__ import annotations

import pytest

from mail.cleaning import customer_text, html_to_text
from mail.parsing import parse_mail
from tests.mail.mails import latin1_mail, mail, raw

FALLBACK = "<spool-1@missing-message-id.invalid>"


def parse(data: bytes, **kwargs: object) -> object:
    return parse_mail(data, max_bytes=1_000_000, fallback_id=FALLBACK, **kwargs)  # type: ignore[arg-type]


def test_a_plain_customer_mail() -> None:
    parsed = parse(raw(mail("Where is my order A10001?", message_id="<m1@client.example>")))
    assert parsed.sender == "anna.berg@example.com"
    assert parsed.message_id == "<m1@client.example>" and parsed.has_message_id
    assert parsed.text == "Where is my order A10001?"
    assert parsed.subject == "My order"
    assert parsed.auto_reply is None and parsed.problems == () and parsed.attachments == ()


def test_thread_ids_oldest_first_without_repeats() -> None:
    parsed = parse(raw(mail(references="<root@x> <second@y>", in_reply_to="<second@y>")))
    assert parsed.thread_ids == ("<root@x>", "<second@y>")


def test_a_mail_without_message_id_gets_the_fallback() -> None:
    message = mail()
    del message["Message-ID"]
    parsed = parse(raw(message))
    assert parsed.message_id == FALLBACK and not parsed.has_message_id
    assert parsed.problems == ()


@pytest.mark.parametrize("headers, sender, why", [
    ({"Auto-Submitted": "auto-replied"}, None, "Auto-Submitted"),
    ({"Auto-Submitted": "auto-generated; owner-email=x@y"}, None, "Auto-Submitted"),
    ({"Precedence": "bulk"}, None, "Precedence"),
    ({"Precedence": "junk"}, None, "Precedence"),
    ({"Precedence": "list"}, None, "Precedence"),
    ({"X-Autoreply": "yes"}, None, "X-Autoreply"),
    ({"X-Autorespond": "Out of office"}, None, "X-Autorespond"),
    ({"Return-Path": "<>"}, None, "Return-Path"),
    ({"List-Id": "<news.shop.example>"}, None, "mailing list"),
    ({"X-Failed-Recipients": "someone@example.com"}, None, "bounce"),
    ({}, "MAILER-DAEMON@mx.example.com", "robot sender"),
    ({}, "postmaster@example.com", "robot sender"),
    ({}, "no-reply@shop.example", "robot sender"),
], ids=lambda value: str(value)[:30])
def test_robots_are_never_answered(headers: dict[str, str], sender: str | None,
                                   why: str) -> None:
    message = mail("I am out of office until Monday.", headers=headers,
                   sender=sender or "Anna Berg <anna.berg@example.com>")
    parsed = parse(raw(message))
    assert parsed.auto_reply is not None and why in parsed.auto_reply
    assert "anna" not in parsed.auto_reply


def test_auto_submitted_no_and_a_bounce_by_envelope() -> None:
    assert parse(raw(mail(headers={"Auto-Submitted": "no"}))).auto_reply is None
    bounced = parse(raw(mail()), envelope_sender_empty=True)
    assert bounced.auto_reply == "empty envelope sender (a bounce)"


def test_a_delivery_report_is_a_robot() -> None:
    report = (b"From: Mail Delivery System <mailer@mx.example>\r\nTo: support@nordvik.example\r\n"
              b"Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
              b"Content-Type: multipart/report; report-type=delivery-status; boundary=XX\r\n\r\n"
              b"--XX\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--XX--\r\n")
    assert "multipart/report" in (parse(report).auto_reply or "")


def test_quoted_history_and_signature_are_removed() -> None:
    text = ("Hi,\n\nthe lamp in A10001 arrived broken. Can I get a new one?\n\n"
            "Best regards,\nAnna\n\n"
            "On Mon, 1 Dec 2026 at 10:00, Nordvik Home <support@nordvik.example> wrote:\n"
            "> Your order A10001 has shipped.\n> Tracking: PN1\n")
    assert customer_text(text) == "Hi,\n\nthe lamp in A10001 arrived broken. Can I get a new one?"


@pytest.mark.parametrize("header", [
    "Den 1 dec. 2026 kl. 10:00 skrev Nordvik Home <support@nordvik.example>:",
    "man. 1. des. 2026 kl. 10:00 skrev Nordvik Home <support@nordvik.example>:",
    "Nordvik Home <support@nordvik.example> 於 2026年12月1日 週一 上午10:00寫道：",
    "-----Original Message-----",
    "________________________________",
])
def test_reply_headers_in_other_languages_and_clients(header: str) -> None:
    text = f"Var är mitt paket?\n\n{header}\nGammalt meddelande\n"
    assert customer_text(text) == "Var är mitt paket?"


def test_an_outlook_header_block_and_a_wrapped_on_wrote_line() -> None:
    outlook = ("Please cancel A10002.\n\nFrån: Nordvik Home <support@nordvik.example>\n"
               "Skickat: den 1 december 2026 10:00\nTill: Anna\nÄmne: Din order\n\nOld text")
    assert customer_text(outlook) == "Please cancel A10002."
    wrapped = ("Thanks, that helped.\n\nOn Mon, 1 Dec 2026 at 10:00, Nordvik Home "
               "<support@nordvik.example>\nwrote:\n> old")
    assert customer_text(wrapped) == "Thanks, that helped."


@pytest.mark.parametrize("signature", [
    "-- \nAnna Berg\nBerg Design AB\n+46 70 111 22 33",
    "Skickat från min iPhone",
    "Med vänliga hälsningar\nAnna Berg",
    "Med vennlig hilsen\nErik Lund\nOslo",
    "祝好\n王小明",
])
def test_signatures_are_removed(signature: str) -> None:
    assert customer_text(f"Where is my order A10001?\n\n{signature}") == \
        "Where is my order A10001?"


def test_a_mail_that_is_only_a_closing_keeps_its_words() -> None:
    assert customer_text("Thanks!\n\nAnna") == "Thanks!"


def test_html_only_mail_is_read_without_its_quote() -> None:
    html = ("<html><head><style>p{color:red}</style></head><body><div>Where is my "
            "<b>order</b>&nbsp;A10001?</div><div class='gmail_quote'><div>On Mon ... wrote:"
            "</div><blockquote>old text</blockquote></div></body></html>")
    assert html_to_text(html) == "Where is my order A10001?"
    message = mail("")
    message.set_content(html, subtype="html")  # an HTML-only mail
    assert parse(raw(message)).text == "Where is my order A10001?"


def test_the_plain_part_wins_over_html() -> None:
    parsed = parse(raw(mail("plain words", html="<p>html words</p>")))
    assert parsed.text == "plain words"


def test_attachments_are_listed_never_opened() -> None:
    script = b"#!/bin/sh\nrm -rf /\n"
    parsed = parse(raw(mail("See the photo.", attachments=[
        ("lamp.jpg", "image/jpeg", b"\xff\xd8" + b"0" * 2046),
        ("run.sh", "application/x-sh", script)])))
    assert [a.describe() for a in parsed.attachments] == [
        "lamp.jpg (image/jpeg, 2 KB)", f"run.sh (application/x-sh, {len(script)} B)"]
    assert parsed.text == "See the photo."


def test_a_declared_latin1_mail_is_decoded_and_is_no_problem() -> None:
    parsed = parse(latin1_mail("Var är min beställning A10001? Hälsningar Åsa"))
    assert parsed.text.startswith("Var är min beställning A10001?")
    assert parsed.problems == () and parsed.body_charset == "iso-8859-1"


def test_big5_chinese_is_decoded() -> None:
    parsed = parse(latin1_mail("我的訂單A10001到哪了？", charset="big5"))
    assert parsed.text == "我的訂單A10001到哪了？" and parsed.problems == ()


@pytest.mark.parametrize("declared, detail", [
    ("x-unknown-8bit", "unknown charset"),
    ("utf-8", "not valid utf-8"),
    ("", "no charset declared"),
])
def test_undecodable_text_is_a_problem_and_decoded_safely(declared: str, detail: str) -> None:
    parsed = parse(latin1_mail("Trasig lampa, vad gör jag?", declared=declared))
    assert parsed.problems == ("charset",)
    assert any(detail in d for d in parsed.details)
    assert "Trasig lampa" in parsed.text  # still readable for the agent


def test_malformed_headers_are_a_problem_naming_the_header() -> None:
    broken = (b"From: Anna Berg <anna.berg@example.com\r\nTo: support@nordvik.example\r\n"
              b"Subject: help\r\nMessage-ID: <b1@client.example>\r\n\r\nWhere is A10001?\r\n")
    parsed = parse(broken)
    assert parsed.problems == ("malformed",)
    assert parsed.details == ("From header: InvalidHeaderDefect",)
    assert parsed.sender == "anna.berg@example.com"  # still answerable by a person
    assert "anna" not in " ".join(parsed.details)


@pytest.mark.parametrize("data", [
    b"From: @@@\r\nSubject: x\r\n\r\nhello\r\n",
    b"From: a@example.com, b@example.com\r\nSubject: x\r\n\r\nhello\r\n",
    b"Subject: no sender\r\n\r\nhello\r\n",
    b"From anna@example.com\r\nThis is not a header\r\n\r\nhello",
    b"",
    b"\x00\xff\xfe garbage \x80\x81",
], ids=["junk From", "two senders", "no From", "no header separator", "empty", "binary"])
def test_mails_without_a_usable_sender(data: bytes) -> None:
    parsed = parse(data)
    assert parsed.sender is None
    assert "malformed" in parsed.problems


def test_raw_utf8_and_latin1_subjects() -> None:
    utf8 = (b"From: anna.berg@example.com\r\nSubject: Reklamation: tr\xc3\xa5sig lampa\r\n\r\nx")
    assert parse(utf8).subject == "Reklamation: tråsig lampa"
    latin1 = b"From: anna.berg@example.com\r\nSubject: R\xe4ksm\xf6rg\xe5s\r\n\r\nx"
    parsed = parse(latin1)
    assert parsed.subject == "Räksmörgås" and "charset" in parsed.problems


def test_an_oversized_mail_is_read_for_its_headers_only() -> None:
    big = raw(mail("x " * 5000, message_id="<big@client.example>",
                   attachments=[("photo.jpg", "image/jpeg", b"0" * 50_000)]))
    parsed = parse_mail(big, max_bytes=10_000, fallback_id=FALLBACK)
    assert parsed.problems == ("oversized",)
    assert parsed.sender == "anna.berg@example.com"
    assert parsed.message_id == "<big@client.example>" and parsed.text == ""
    assert "over the limit of 10 KB" in parsed.details[0]


def test_content_language_is_a_hint() -> None:
    parsed = parse(raw(mail(headers={"Content-Language": "zh-TW"})))
    assert parsed.language_hint == "zh"
