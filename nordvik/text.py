"""Text helpers shared by every package: Unicode normalisation and Slack mrkdwn.

    normalize("Ａ１２３４５　ok")   -> "A12345 ok"     (NFKC: full-width letters, digits, spaces)
    fold_diacritics("Får jag byta?") -> "Far jag byta?"
    clip("a long text", 6)           -> "a lon…"
    escape_mrkdwn("<b> & co")        -> "&lt;b&gt; &amp; co"
"""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
ELLIPSIS = "…"


def normalize(text: str) -> str:
    """NFKC (full-width to half-width, compatibility forms) without control characters."""
    return _CONTROL.sub("", unicodedata.normalize("NFKC", text))


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
