"""The plain values the store takes in: free text cleaned and capped, money as a Decimal, and
order numbers in the one canonical form.

    clean_text("On its way\\x00!")         -> "On its way!"   (PostgreSQL rejects NUL)
    optional_text("  ", 30)                -> None
    canonical_order_number("A10004")       -> "A10004"
    canonical_order_number(" a10004 ")     -> None   (not cleaned here: see below)

The order number is normalised once, where it enters (see ``nordvik.orders``), and reaches the
store in canonical form. The store only checks that form
(``nordvik.orders.canonical_order_number``); anything else, junk included, takes the not-found
path without a query.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nordvik.orders import canonical_order_number

__all__ = ["MAX_TEXT_LENGTH", "canonical_order_number", "clean_text", "money", "optional_text"]

MAX_TEXT_LENGTH = 5000


def clean_text(value: object, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text as stored: a string without NUL characters (PostgreSQL rejects them), capped."""
    text_value = value if isinstance(value, str) else ("" if value is None else str(value))
    return text_value.replace("\x00", "")[:max_length]


def optional_text(value: object, max_length: int) -> str | None:
    """Cleaned, capped and stripped text; None for None or nothing left."""
    if value is None:
        return None
    cleaned = clean_text(value, max_length).strip()
    return cleaned or None


def money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))

