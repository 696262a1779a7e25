"""Text helpers shared by every package: Unicode normalisation, Slack mrkdwn, and e-mail
addresses in customer text (finding, normalising and masking them).

    normalize("Ａ１２３４５　ok")   -> "A12345 ok"     (NFKC: full-width letters, digits, spaces)
    normalize_with_offsets("Ａ１２３４５ ok")  -> ("A12345 ok", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    fold_diacritics("Får jag byta?") -> "Far jag byta?"
    clip("a long text", 6)           -> "a lon…"
    escape_mrkdwn("<b> & co")        -> "&lt;b&gt; &amp; co"
    find_email("it's Anna.Berg@Example.com!")    -> "Anna.Berg@Example.com"
    normalize_email(" Anna.Berg@Example.com ")   -> "anna.berg@example.com"
    redact_emails("mail me at a@b.se")           -> "mail me at [e-mail]"

Logs, the CRM history and stored conversations keep addresses only through `redact_emails`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ELLIPSIS = "…"


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms) without control characters."""
    return _CONTROL.sub("", unicodedata.normalize("NFKC", text))


def normalize_with_offsets(text: str) -> tuple[str, list[int]]:
    """The normalised text and, for each of its characters plus one past the end, the offset
    in `text` where it starts (the last entry is len(text)).

    `normalize` is applied to each character together with the combining marks that follow it,
    so every output character can be traced to the input character it came from: tokens and
    entities found in the normalised text keep start/end offsets into what was typed."""
    pieces: list[str] = []
    offsets: list[int] = []
    start = 0
    length = len(text)
    while start < length:
        end = start + 1
        while end < length and unicodedata.combining(text[end]):
            end += 1
        piece = normalize(text[start:end])
        pieces.append(piece)
        offsets.extend([start] * len(piece))
        start = end
    offsets.append(length)
    return "".join(pieces), offsets


def original_span(offsets: list[int], start: int, end: int) -> tuple[int, int]:
    """The span in the original text of the normalised characters [start, end)."""
    if end <= start:
        return offsets[start], offsets[start]
    last = offsets[end - 1]
    # The original end is where the next normalised character starts (or the text ends),
    # never before the last character's own start.
    following = next((o for o in offsets[end:] if o > last), offsets[-1])
    return offsets[start], following


_FOLD_LETTERS = str.maketrans({"æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d",
                                "Đ": "D", "ł": "l", "Ł": "L"})


def fold_diacritics(text: str) -> str:
    """Latin letters without their marks, as a customer on a keyboard without them writes:
    "Beställning på väg" -> "Bestallning pa vag", "følger" -> "folger", "ærlig" -> "aerlig".
    Other scripts (Han, digits, punctuation) are unchanged."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text.translate(_FOLD_LETTERS))
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut."""
    if limit < 1:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def escape_mrkdwn(text: str) -> str:
    """Text safe inside Slack mrkdwn: &, < and > escaped, so nothing becomes a link or mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- E-mail addresses in customer text: finding, normalising and masking them ---

MAX_EMAIL_CHARS = 254
MAX_SCANNED_CHARS = 2000
REDACTED = "[e-mail]"
EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9-])",
    re.ASCII,
)
# For masking: also catches addresses glued to other text and overlong local parts.
_NOT_IN_ADDRESS = (
    "\\s@＠<>()\\[\\]{},;:\"'"
    "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff0c\uff1a\uff1b"
)
_ANY_EMAIL = re.compile(
    rf"[^{_NOT_IN_ADDRESS}]{{1,200}}[@＠][^{_NOT_IN_ADDRESS}]{{1,250}}[.．][A-Za-zＡ-Ｚａ-ｚ]{{2,24}}"
)


def iter_emails(text: Any) -> Iterator[tuple[int, int, str]]:
    """(start, end, address) for each e-mail address in `text` (full-width forms normalised)."""
    if not isinstance(text, str):
        return
    window = text[:MAX_SCANNED_CHARS]
    normalized = normalize(window)
    if len(normalized) != len(window):
        window = normalized
    for match in EMAIL_RE.finditer(window):
        if len(match.group(0)) <= MAX_EMAIL_CHARS:
            yield match.start(), match.end(), match.group(0)


def find_email(text: Any) -> str | None:
    """The first e-mail address in what the customer typed, as typed, or None."""
    if isinstance(text, list):
        text = text[0] if text else None
    return next((address for _, _, address in iter_emails(text)), None)


def normalize_email(value: Any) -> str | None:
    """Lower-case, stripped address, or None when `value` is not exactly one e-mail address."""
    if not isinstance(value, str):
        return None
    candidate = unicodedata.normalize("NFKC", value).strip().lower()
    if len(candidate) > MAX_EMAIL_CHARS or not EMAIL_RE.fullmatch(candidate):
        return None
    return candidate


def redact_emails(text: str, placeholder: str = REDACTED) -> str:
    """`text` with every e-mail address replaced by `placeholder`."""
    return _ANY_EMAIL.sub(placeholder, text)


def mask_email(address: str) -> str:
    """A hint of an address for people who may see it: 'a***@e***.com'."""
    local, _, domain = address.partition("@")
    name, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{name[:1]}***.{tld}" if local and name else REDACTED
