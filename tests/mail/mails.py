"""Raw test mails, built the way mail clients and robots write them."""

from __future__ import annotations

from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

SUPPORT = "support@nordvik.example"


def mail(text: str = "Where is my order?", *, sender: str = "Anna Berg <anna.berg@example.com>",
         subject: str = "My order", message_id: str | None = None,
         in_reply_to: str | None = None, references: str | None = None,
         headers: dict[str, str] | None = None, html: str | None = None,
         attachments: list[tuple[str, str, bytes]] | None = None) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(timezone.utc))
    message["Message-ID"] = message_id or make_msgid(domain="client.example")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, content_type, data in attachments or []:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    for name, value in (headers or {}).items():  # after the content: set_content drops Content-*
        message[name] = value
    return message


def raw(message: EmailMessage) -> bytes:
    """The bytes on the wire (CRLF line ends, as SMTP requires)."""
    return message.as_bytes(policy=policy.SMTP)


def latin1_mail(text: str, *, charset: str = "iso-8859-1", declared: str | None = None,
                sender: str = "asa@example.se", subject: str = "Question") -> bytes:
    """A single-part mail whose body bytes are in `charset`, declared as `declared`."""
    header_charset = declared if declared is not None else charset
    content_type = (f"text/plain; charset={header_charset}" if header_charset
                    else "text/plain")
    head = (f"From: {sender}\r\nTo: {SUPPORT}\r\nSubject: {subject}"
            f"\r\nMessage-ID: {make_msgid(domain='client.example')}\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
    return head.encode("ascii") + text.encode(charset) + b"\r\n"
