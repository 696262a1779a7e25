"""Reading one inbound mail (stdlib `email`, policy=default) into what the channel needs.

    mail = parse_mail(raw_bytes, max_bytes=settings.max_bytes, fallback_id="<spool-id@...>")
    mail.auto_reply   -> None, or why it must never be answered ("Auto-Submitted: auto-replied")
    mail.sender       -> "anna.berg@example.com" (normalised) or None when From is unusable
    mail.text         -> the customer's own words: quotes and signature removed
    mail.problems     -> ("oversized" | "charset" | "malformed", ...): an agent reads it instead

Nothing here raises on bad input: every defect becomes a problem with a description that names
the header or the charset, never an address or the mail's text. Attachments are listed (name,
type, size) and never opened.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from typing import Any

from mail.cleaning import customer_text, html_to_text
from nordvik.languages import normalize_language
from nordvik.text import clip, normalize_email

MAX_SUBJECT_CHARS = 300
MAX_IDS = 40
MAX_ATTACHMENTS = 50
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
_ROBOT_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)"
                            r"([+\-.].*)?$", re.IGNORECASE)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_CHECKED_HEADERS = ("From", "To", "Cc", "Subject", "Date", "Message-ID", "In-Reply-To",
                    "References", "Content-Type", "Content-Transfer-Encoding")
_SINGLE_HEADERS = ("From", "Message-ID", "Subject")
_IGNORED_DEFECTS = frozenset({"ObsoleteHeaderDefect"})


@dataclass(frozen=True)
class Attachment:
    """An attachment as noted in the case: never opened, never executed."""

    name: str
    content_type: str
    size: int

    def describe(self) -> str:
        return f"{self.name} ({self.content_type}, {human_size(self.size)})"


@dataclass(frozen=True)
class InboundMail:
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: str | None
    language_hint: str | None
    text: str
    attachments: tuple[Attachment, ...]
    auto_reply: str | None
    problems: tuple[str, ...]
    details: tuple[str, ...]
    size: int
    has_message_id: bool = True
    body_charset: str | None = field(default=None)

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every earlier message this one answers, oldest first (References, then In-Reply-To)."""
        seen: dict[str, None] = {}
        for message_id in (*self.references, *self.in_reply_to):
            seen.setdefault(message_id, None)
        return tuple(seen)


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def message_ids(value: object) -> tuple[str, ...]:
    """The <...> message ids in a header value, in order, at most MAX_IDS."""
    return tuple(_MESSAGE_ID.findall(str(value or "")))[:MAX_IDS]


class _Problems:
    def __init__(self) -> None:
        self.codes: dict[str, None] = {}
        self.details: dict[str, None] = {}

    def add(self, code: str, detail: str) -> None:
        self.codes.setdefault(code, None)
        self.details.setdefault(detail, None)


def _header(message: Message, name: str, problems: _Problems) -> Any:
    try:
        return message[name]
    except Exception as exc:  # noqa: BLE001 - the email package raises many types on junk
        problems.add("malformed", f"{name} header unreadable ({type(exc).__name__})")
        return None


def _raw_header(message: Message, name: str) -> str | None:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _subject(message: Message, problems: _Problems) -> str:
    """The subject, decoded: RFC 2047 words, or raw 8-bit bytes read as UTF-8 (RFC 6532)."""
    raw = _raw_header(message, "Subject")
    if raw is None:
        return ""
    if any("\udc80" <= char <= "\udcff" for char in raw):
        data = raw.encode("ascii", "surrogateescape")
        try:
            raw = data.decode("utf-8")
        except UnicodeDecodeError:
            problems.add("charset", "Subject has 8-bit bytes that are not UTF-8")
            raw = data.decode("cp1252", errors="replace")
    try:
        text = str(make_header(decode_header(raw)))
    except (LookupError, UnicodeError, ValueError, AssertionError):
        problems.add("charset", "Subject has an undecodable encoded word")
        text = raw
    return clip(" ".join(text.split()), MAX_SUBJECT_CHARS)


def _sender(message: Message, problems: _Problems) -> str | None:
    header = _header(message, "From", problems)
    if header is None:
        problems.add("malformed", "From header missing")
        return None
    addresses = [address for address in getattr(header, "addresses", ())
                 if address.username and address.domain]
    if len(addresses) != 1:
        problems.add("malformed", f"From header has {len(addresses)} usable addresses")
        return None
    return normalize_email(f"{addresses[0].username}@{addresses[0].domain}")


def auto_reply_reason(message: Message, sender: str | None,
                      envelope_sender_empty: bool = False) -> str | None:
    """Why this mail comes from a robot and must never be answered (RFC 3834), or None."""
    if envelope_sender_empty:
        return "empty envelope sender (a bounce)"
    submitted = str(message.get("Auto-Submitted") or "").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted[:40]}"
    precedence = str(message.get("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply", "X-Autoresponder"):
        value = str(message.get(name) or "").strip().lower()
        if name in message and value not in ("no", "false", "0"):
            return f"{name} header"
    if "X-Failed-Recipients" in message:
        return "X-Failed-Recipients header (a bounce)"
    if "List-Id" in message or "List-Unsubscribe" in message:
        return "mailing list (List-Id / List-Unsubscribe)"
    if str(message.get("Return-Path") or "").strip() == "<>":
        return "empty Return-Path (a bounce)"
    if message.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    if sender is not None and _ROBOT_SENDERS.match(sender.partition("@")[0]):
        return f"robot sender ({sender.partition('@')[0][:20]})"
    return None


def _decode(part: Message, problems: _Problems) -> tuple[str, str | None]:
    """A text part's content, decoded with its declared charset; a safe fallback otherwise."""
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    declared = part.get_content_charset()
    if declared is None:
        try:
            return data.decode("utf-8"), None
        except UnicodeDecodeError:
            problems.add("charset", "no charset declared and the text is not UTF-8")
            return data.decode("cp1252", errors="replace"), "cp1252"
    try:
        codecs.lookup(declared)
    except LookupError:
        problems.add("charset", f"unknown charset {declared[:40]!r}")
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace"), "cp1252"
    try:
        return data.decode(declared), declared
    except UnicodeDecodeError:
        if declared in ("us-ascii", "ascii"):
            try:  # UTF-8 labelled as ASCII: common, and harmless
                return data.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
        problems.add("charset", f"the text is not valid {declared[:40]}")
        return data.decode(declared, errors="replace"), declared


def _attachment(part: Message) -> Attachment:
    try:
        name = part.get_filename() or ""
    except Exception:  # noqa: BLE001 - a broken filename parameter
        name = ""
    payload = part.get_payload(decode=True)
    size = len(payload) if isinstance(payload, bytes) else len(str(part.get_payload() or ""))
    clean_name = clip(" ".join(str(name).split()), 120) or "(no name)"
    return Attachment(clean_name, part.get_content_type(), size)


def _body(message: Message, problems: _Problems
          ) -> tuple[str, tuple[Attachment, ...], str | None]:
    body: Message | None = None
    try:
        if isinstance(message, EmailMessage):
            body = message.get_body(preferencelist=("plain", "html"))
    except Exception as exc:  # noqa: BLE001
        problems.add("malformed", f"MIME structure unreadable ({type(exc).__name__})")
    attachments: list[Attachment] = []
    for part in message.walk():
        if part is body or part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        is_text = part.get_content_maintype() == "text"
        is_attachment = disposition == "attachment" or part.get_filename() or not is_text
        if is_attachment and len(attachments) < MAX_ATTACHMENTS:
            attachments.append(_attachment(part))
    if body is None:
        return "", tuple(attachments), None
    text, charset = _decode(body, problems)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    return text, tuple(attachments), charset


def _defects(message: Message, problems: _Problems, *, body: bool = True) -> None:
    """Defects of the headers (and, with `body`, of the MIME structure) as problems."""
    names = {type(defect).__name__ for defect in message.defects} if body else set()
    for name in _CHECKED_HEADERS:
        try:
            values = message.get_all(name) or []
        except Exception as exc:  # noqa: BLE001
            problems.add("malformed", f"{name} header unreadable ({type(exc).__name__})")
            continue
        for value in values:
            for defect in getattr(value, "defects", ()):
                if type(defect).__name__ not in _IGNORED_DEFECTS:
                    problems.add("malformed", f"{name} header: {type(defect).__name__}")
    for name in _SINGLE_HEADERS:
        if len(message.get_all(name) or []) > 1:
            problems.add("malformed", f"{name} header appears more than once")
    for name in sorted(names - _IGNORED_DEFECTS):
        problems.add("malformed", f"message: {name}")


def parse_mail(raw: bytes, *, max_bytes: int, fallback_id: str,
               envelope_sender_empty: bool = False) -> InboundMail:
    """Read one stored mail. A mail over `max_bytes` is read for its headers only."""
    problems = _Problems()
    oversized = len(raw) > max_bytes
    if oversized:
        problems.add("oversized", f"{human_size(len(raw))} is over the limit of "
                                  f"{human_size(max_bytes)}")
        message: Message = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    else:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    _defects(message, problems, body=not oversized)
    sender = _sender(message, problems)
    found = message_ids(_header(message, "Message-ID", problems))
    subject = _subject(message, problems)
    text: str = ""
    attachments: tuple[Attachment, ...] = ()
    charset: str | None = None
    if not oversized:
        text, attachments, charset = _body(message, problems)
    hint = str(message.get("Content-Language") or "").split(",")[0].strip()
    in_reply_to = message_ids(_header(message, "In-Reply-To", problems))
    references = message_ids(_header(message, "References", problems))
    return InboundMail(
        message_id=found[0] if found else fallback_id,
        in_reply_to=in_reply_to,
        references=references,
        subject=subject,
        sender=sender,
        language_hint=normalize_language(hint) if hint else None,
        text=customer_text(text) if text else "",
        attachments=attachments,
        auto_reply=auto_reply_reason(message, sender, envelope_sender_empty),
        problems=tuple(problems.codes),
        details=tuple(problems.details),
        size=len(raw),
        has_message_id=bool(found),
        body_charset=charset,
    )
