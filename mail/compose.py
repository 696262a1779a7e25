"""One well-formed reply mail per turn: plain text and an HTML alternative, threaded.

    reply = compose_reply(ReplyParts(...), settings)
    reply["In-Reply-To"], reply["References"], reply["Message-ID"]

The texts are the assistant's catalogue responses as the turn rendered them (domain/), plus the
channel's own texts (domain/mail.yml, utter_mail_*): a greeting, a note that the assistant wrote
the answer (not on an agent's reply), and the signature after an RFC 3676 "-- " line. Chat-only
parts are changed for a mail: buttons become a line of words to reply with, "did that answer
your question?" is left out (a mail answer needs no yes/no; a reply reaches the assistant
anyway), and the handoff messages that speak of "this chat" have e-mail versions.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from mail.settings import MailSettings
from message_catalogue.messages import get_catalogue
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES

# Chat responses with a version for mail (same parameters).
MAIL_VERSIONS: dict[str, str] = {
    "utter_handoff_started": "mail_handoff_started",
    "utter_handoff_started_offline": "mail_handoff_started",
    "utter_handoff_already_active": "mail_handoff_already_active",
    "utter_handoff_unavailable": "mail_handoff_unavailable",
    "utter_handoff_ended": "mail_handoff_ended",
}
# Chat follow-ups a mail leaves out.
LEFT_OUT = frozenset({"utter_kb_helped"})
CONTENT_LANGUAGE = {"en": "en", "sv": "sv", "nb": "nb", "zh": "zh-TW"}
_REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|vs|antw|回覆|回复)\s*[:：]", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>\"']+")


def mail_text(name: str, language: str | None, **params: Any) -> str:
    """One of the channel's own texts ("mail_signature": the catalogue's utter_mail_signature,
    domain/mail.yml) in `language`."""
    return get_catalogue().text(f"utter_{name}", language, **params)


def reply_paragraphs(messages: Sequence[Mapping[str, Any]], language: str,
                     **params: Any) -> list[str]:
    """The bot's messages of one turn as the paragraphs of a mail."""
    paragraphs: list[str] = []
    for message in messages:
        name = message.get("utter_action") or message.get("response")
        if name in LEFT_OUT:
            continue
        if name in MAIL_VERSIONS:
            text = mail_text(MAIL_VERSIONS[str(name)], language, **params)
        else:
            text = str(message.get("text") or "").strip()
        titles = [str(button.get("title") or "").strip()
                  for button in message.get("buttons") or [] if isinstance(button, Mapping)]
        titles = [title for title in titles if title]
        if titles:
            options = mail_text("mail_reply_options", language, options=" / ".join(titles))
            text = f"{text}\n{options}" if text else options
        if text and text not in paragraphs:
            paragraphs.append(text)
    return paragraphs


def reply_subject(subject: str, language: str) -> str:
    if not subject.strip():
        return mail_text("mail_subject_fallback", language)
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def _html_paragraph(text: str) -> str:
    pieces: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:!?)")
        end = match.start() + len(url)
        pieces.append(html.escape(text[position:match.start()]))
        pieces.append(f'<a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>')
        position = end
    pieces.append(html.escape(text[position:]))
    return "".join(pieces).replace("\n", "<br>\n")


@dataclass(frozen=True)
class ReplyParts:
    to: str  # the customer's address (unsealed only for this mail)
    subject: str  # the thread's subject, as the customer wrote it
    reply_to: str | None  # Message-ID of the customer's latest mail
    references: tuple[str, ...]
    language: str
    paragraphs: tuple[str, ...]
    from_assistant: bool = True  # False for an agent's own words


def compose_reply(parts: ReplyParts, settings: MailSettings,
                  now: datetime | None = None) -> EmailMessage:
    language = parts.language if parts.language in LANGUAGES else DEFAULT_LANGUAGE
    local, _, domain = parts.to.partition("@")
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = Address(username=local, domain=domain)
    message["Subject"] = reply_subject(parts.subject, language)
    message["Date"] = format_datetime(now or datetime.now(timezone.utc))
    message["Message-ID"] = make_msgid(domain=settings.domain)
    if parts.reply_to:
        message["In-Reply-To"] = parts.reply_to
    references = list(parts.references)
    if parts.reply_to and parts.reply_to not in references:
        references.append(parts.reply_to)
    if references:
        message["References"] = " ".join(references[:1] + references[1:][-19:])
    if parts.from_assistant:
        # RFC 3834: an automatic answer; other robots must not answer it (no mail loops).
        message["Auto-Submitted"] = "auto-replied"
    message["X-Auto-Response-Suppress"] = "All"
    greeting = mail_text("mail_greeting", language)
    note = mail_text("mail_bot_note", language) if parts.from_assistant else ""
    signature = mail_text("mail_signature", language)
    body = [greeting, *parts.paragraphs, *([note] if note else [])]
    message.set_content("\n\n".join(body) + "\n\n-- \n" + signature + "\n")
    html_lang = CONTENT_LANGUAGE[language]
    html_body = "\n".join(f"<p>{_html_paragraph(p)}</p>" for p in (greeting, *parts.paragraphs))
    if note:
        html_body += f'\n<p style="color:#555555;font-size:90%">{_html_paragraph(note)}</p>'
    html_body += ('\n<p style="color:#555555">-- <br>\n'
                  f"{_html_paragraph(signature)}</p>")
    message.add_alternative(
        f'<!DOCTYPE html>\n<html lang="{html_lang}">\n<head><meta charset="utf-8"></head>\n'
        f"<body>\n{html_body}\n</body>\n</html>\n",
        subtype="html",
    )
    message["Content-Language"] = CONTENT_LANGUAGE[language]  # (set_content drops Content-*)
    return message
