"""The order-number rule: `A` followed by five ASCII digits, stored upper-case.

    normalize_order_number(" a12345 ")       -> "A12345"
    normalize_order_number("Ａ１２３４５")     -> "A12345"   (full-width forms)
    normalize_order_number("A1234٥")          -> None       (ASCII digits only)
    find_order_number("我的訂單A12345到哪了")   -> "A12345"   (no spaces needed around it)
    find_order_number("ref XA123456")         -> None
    canonical_order_number(" a12345 ")        -> None       (a check, never a cleaned copy)

An order number is normalised once, where it enters: the NLU's entity extractor (chat, phone,
messaging), a form's typed answer, the Slack ``/order`` text, an e-mail's words. Past that point
every part passes the canonical value on and only checks it with ``canonical_order_number``.

Every part that reads an order number (the store, the actions, the NLU, the Slack app, the
e-mail channel) uses these functions; nothing else defines the format.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

ORDER_NUMBER_FORMAT = "A[0-9]{5}"
EXAMPLE_ORDER_NUMBER = "A10234"
MAX_SCANNED_CHARS = 2000

_FULL = re.compile(ORDER_NUMBER_FORMAT, re.ASCII)
# Not glued to other Latin letters or digits; Chinese characters around it are fine.
_IN_TEXT = re.compile(r"(?<![A-Za-z0-9])[Aa][0-9]{5}(?![0-9A-Za-z])", re.ASCII)


def _nfkc(text: str) -> str:
    """Full-width and other compatibility forms as plain characters (control characters kept,
    so that junk such as an embedded NUL never becomes a valid number)."""
    return unicodedata.normalize("NFKC", text)


def normalize_order_number(value: Any) -> str | None:
    """The order number in canonical form, or None unless `value` is exactly one order number."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    candidate = _nfkc(value).strip().upper()
    return candidate if _FULL.fullmatch(candidate) else None


def canonical_order_number(value: object) -> str | None:
    """`value` when it is an order number in canonical form, else None (never a cleaned copy)."""
    return value if isinstance(value, str) and _FULL.fullmatch(value) else None


def iter_order_numbers(text: Any) -> Iterator[tuple[int, int, str]]:
    """(start, end, number) for each order number in free text, offsets into `text` itself.

    NFKC maps each full-width letter or digit to one ASCII character, so the offsets of a match
    in the normalised text are the offsets in the original wherever the two have equal length;
    otherwise the match is located in the original by its characters.
    """
    if not isinstance(text, str):
        return
    window = text[:MAX_SCANNED_CHARS]
    normalized = _nfkc(window)
    same_length = len(normalized) == len(window)
    for match in _IN_TEXT.finditer(normalized):
        number = match.group(0).upper()
        if same_length:
            yield match.start(), match.end(), number
            continue
        for start in range(len(window)):
            piece = window[start : start + 6]
            if _nfkc(piece).upper() == number:
                yield start, start + 6, number
                break


def find_order_number(text: Any) -> str | None:
    """The first order number in what the customer typed, canonical, or None."""
    if isinstance(text, list):
        text = text[0] if text else None
    return next((number for _, _, number in iter_order_numbers(text)), None)


def find_order_numbers(text: Any) -> list[str]:
    """Every distinct order number in `text`, in order of appearance."""
    return list(dict.fromkeys(number for _, _, number in iter_order_numbers(text)))
