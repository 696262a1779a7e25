"""The mail as the receiver hands it to the channel: one JSON body, built on one side and read on
the other.

    body = payload_for(mail_id, inbound_mail, settings)   # mail/receiver.py, before the POST
    mail = MailPayload.from_json(body)                     # mail/channel.py, InvalidPayload

The sender travels sealed (purpose "email") with a pseudonym for the verification limits; the
text is cleaned and clipped twice: short for the NLU, longer for the agent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mail.parsing import InboundMail
from mail.settings import MailSettings
from nordvik.languages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    detect_language_or_none,
    normalize_language,
)
from nordvik.orders import find_order_number
from nordvik.secrets import pseudonym, seal
from nordvik.text import clip

INPUT_CHANNEL = "email"  # the channel's name in Rasa, the CRM and the handoff post


class InvalidPayload(ValueError):
    """The receiver's call does not carry a usable mail (the text says which field)."""


@dataclass(frozen=True)
class MailPayload:
    """What the receiver (mail/receiver.py) sends for one stored mail."""

    mail_id: str
    message_id: str
    earlier_ids: tuple[str, ...]
    subject: str
    sender: str  # sealed, purpose "email"
    client: str  # pseudonym of the address, for the verification limits
    language: str | None
    text: str  # for the NLU: quotes and signature removed, clipped
    agent_text: str  # for the agent: the same, longer
    attachments: tuple[str, ...]  # "name (type, size)"
    problems: tuple[str, ...]
    details: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Any) -> MailPayload:
        if not isinstance(body, Mapping):
            raise InvalidPayload("the body must be a JSON object")

        def text(name: str, required: bool = True, limit: int = 100_000) -> str:
            value = body.get(name)
            if value is None and not required:
                return ""
            if not isinstance(value, str) or (required and not value.strip()):
                raise InvalidPayload(f"'{name}' must be a non-empty string")
            return value[:limit]

        def strings(name: str) -> tuple[str, ...]:
            value = body.get(name) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidPayload(f"'{name}' must be a list of strings")
            return tuple(v[:1000] for v in value[:100])

        return cls(
            mail_id=text("mail_id", limit=80), message_id=text("message_id", limit=255),
            earlier_ids=strings("earlier_ids"), subject=text("subject", False, 300),
            sender=text("sender", limit=2000), client=text("client", limit=64),
            language=normalize_language(body.get("language")),
            text=text("text", False), agent_text=text("agent_text", False),
            attachments=strings("attachments"), problems=strings("problems"),
            details=strings("details"),
        )


def reply_language(slots: Mapping[str, Any], mail: MailPayload) -> str:
    """The language a reply to `mail` is written in: the conversation's, else the mail's."""
    value = slots.get("language")
    if value in LANGUAGES:
        return str(value)
    return mail.language or DEFAULT_LANGUAGE


def payload_for(mail_id: str, mail: InboundMail, settings: MailSettings) -> dict[str, Any]:
    """What the channel's webhook receives: the sender sealed, the text cleaned and clipped."""
    assert mail.sender is not None
    sample = f"{mail.subject}\n{mail.text}"[:1500] if mail.text else mail.subject
    language = detect_language_or_none(sample) or mail.language_hint
    return {
        "mail_id": mail_id,
        "message_id": mail.message_id,
        "earlier_ids": list(mail.thread_ids),
        "subject": mail.subject,
        "sender": seal(mail.sender, purpose="email"),
        "client": pseudonym(mail.sender, purpose="client"),
        "language": language,
        "text": nlu_text(mail, settings.max_text_chars),
        "agent_text": clip(mail.text, settings.agent_text_chars),
        "attachments": [attachment.describe() for attachment in mail.attachments],
        "problems": list(mail.problems),
        "details": list(mail.details),
    }


def nlu_text(mail: InboundMail, limit: int) -> str:
    """The mail's words for the NLU; an order number only in the subject is added."""
    text = clip(" ".join(mail.text.split()), limit)
    if not text:
        return clip(mail.subject, limit)
    subject_order = find_order_number(mail.subject)
    if subject_order and find_order_number(text) is None:
        text = clip(f"{text} ({subject_order})", limit)
    return text
