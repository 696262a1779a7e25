"""E-mail addresses in customer text: finding, normalising and masking them.

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

from nordvik.text import normalize

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
