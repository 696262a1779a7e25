"""The reply mail: threading headers, plain text and HTML, language, signature, chat-only parts."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from mail.compose import ReplyParts, compose_reply, mail_text, reply_paragraphs, reply_subject
from mail.settings import MailSettings
from mail.smtp import message_bytes

SETTINGS = MailSettings()


def parts(**changes: object) -> ReplyParts:
    values: dict[str, object] = {
        "to": "anna.berg@example.com", "subject": "My order", "reply_to": "<m2@client.example>",
        "references": ("<m1@client.example>", "<r1@nordvik.example>", "<m2@client.example>"),
        "language": "en", "paragraphs": ("Order A10001 is on its way: https://track.example/PN1.",),
    }
    values.update(changes)
    return ReplyParts(**values)  # type: ignore[arg-type]


def test_a_reply_is_threaded_and_well_formed() -> None:
    message = compose_reply(parts(), SETTINGS)
    parsed = BytesParser(policy=policy.default).parsebytes(message_bytes(message))
    assert parsed["To"] == "anna.berg@example.com"
    assert str(parsed["From"]) == "Nordvik Home <support@nordvik.example>"
    assert parsed["Subject"] == "Re: My order"
    assert parsed["In-Reply-To"] == "<m2@client.example>"
    assert parsed["References"] == "<m1@client.example> <r1@nordvik.example> <m2@client.example>"
    assert parsed["Message-ID"].endswith("@nordvik.example>")
    assert parsed["Auto-Submitted"] == "auto-replied"
    assert parsed["Date"] and parsed["Content-Language"] == "en"
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert plain.startswith("Hello,\n\nOrder A10001 is on its way")
    assert "\n-- \nBest regards\nNordvik Home customer service" in plain
    assert mail_text("mail_bot_note", "en") in plain
    assert '<a href="https://track.example/PN1">https://track.example/PN1</a>.' in html
    assert '<html lang="en">' in html


@pytest.mark.parametrize("language, greeting, content_language", [
    ("sv", "Hej,", "sv"), ("nb", "Hei,", "nb"), ("zh", "您好：", "zh-TW"), ("de", "Hello,", "en")])
def test_the_reply_is_in_the_conversations_language(language: str, greeting: str,
                                                    content_language: str) -> None:
    message = compose_reply(parts(language=language), SETTINGS)
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert plain.startswith(greeting)
    assert mail_text("mail_signature", content_language[:2]) in plain
    assert message["Content-Language"] == content_language


def test_an_agents_reply_is_not_marked_automatic() -> None:
    message = compose_reply(parts(from_assistant=False), SETTINGS)
    assert message["Auto-Submitted"] is None
    assert mail_text("mail_bot_note", "en") not in message.get_body(("plain",)).get_content()


def test_a_first_reply_without_earlier_ids_and_subjects() -> None:
    message = compose_reply(parts(references=(), reply_to="<only@client.example>"), SETTINGS)
    assert message["References"] == "<only@client.example>"
    assert reply_subject("Re: My order", "en") == "Re: My order"
    assert reply_subject("SV: Min order", "sv") == "SV: Min order"
    assert reply_subject("", "sv") == "Ditt meddelande till Nordvik Home"


def test_the_html_escapes_what_the_customer_or_an_agent_wrote() -> None:
    message = compose_reply(parts(paragraphs=("<script>alert(1)</script> & more",)), SETTINGS)
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html


def test_chat_parts_become_mail_parts() -> None:
    messages = [
        {"utter_action": "utter_kb_answer", "text": "This article might help: Returns"},
        {"utter_action": "utter_kb_helped", "text": "Did that answer your question?",
         "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"utter_action": "utter_ask_csat_rating", "text": "How did we do? 1 is poor, 5 great.",
         "buttons": [{"title": str(n), "payload": f"/csat_rating{n}"} for n in range(1, 6)]},
        {"utter_action": "utter_handoff_started", "text": "... right here in this chat ..."},
    ]
    paragraphs = reply_paragraphs(messages, "en", case_id=12)
    assert paragraphs[0] == "This article might help: Returns"
    assert paragraphs[1] == ("How did we do? 1 is poor, 5 great.\n"
                             "You can reply with one of these: 1 / 2 / 3 / 4 / 5")
    assert paragraphs[2] == mail_text("mail_handoff_started", "en", case_id=12)
    assert "#12" in paragraphs[2] and "chat" not in paragraphs[2]
    assert len(paragraphs) == 3  # "did that answer your question?" is left out
