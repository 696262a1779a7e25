"""The phone-number rule: numbers in E.164 (`+46701112233`), compared only in that form.

    normalize_phone("+46 70 111 22 33")            -> "+46701112233"
    normalize_phone("070-111 22 33")                -> "+46701112233"   (default region SE)
    normalize_phone("0046 (0)70 111 22 33")         -> "+46701112233"
    normalize_phone("412 34 567", region="NO")      -> "+4741234567"
    normalize_phone("0912 345 678", region="TW")    -> "+886912345678"
    normalize_phone("+886 912 345 678", region="SE") -> "+886912345678" (international kept)
    normalize_phone("anonymous")                    -> None            (withheld)
    same_phone("+46 70 111 22 33", "0701112233")    -> True

A channel that knows the customer's number for sure (the phone channel's caller ID, a
messaging app's sender) passes it in E.164; the store keeps numbers as people typed them, and
normalises them with the customer's country as the region. Every part that compares phone
numbers (the store, the phone channel, the messaging channels) uses these functions.
No external library: the national formats of the shop's markets are simple enough (a trunk
`0` in Sweden, Taiwan, the UK, Finland, Germany; none in Norway, Denmark, the US).
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from typing import Any

# Region -> (country calling code, national trunk prefix or "").
REGIONS: dict[str, tuple[str, str]] = {
    "SE": ("46", "0"), "NO": ("47", ""), "TW": ("886", "0"), "DK": ("45", ""),
    "FI": ("358", "0"), "GB": ("44", "0"), "DE": ("49", "0"), "US": ("1", ""),
}
DEFAULT_REGION = "SE"
MAX_INPUT_CHARS = 64

# What carriers and Twilio send for a withheld caller ID (Twilio's "+266696687" spells ANONYMOUS).
WITHHELD = frozenset({
    "anonymous", "restricted", "private", "unknown", "unavailable", "blocked", "withheld",
    "266696687", "+266696687", "7378742833", "+7378742833", "2562533", "+2562533",
    "8656696", "+8656696", "86282452253", "+86282452253",
})
_E164 = re.compile(r"\+[1-9][0-9]{6,14}", re.ASCII)
_SEPARATORS = re.compile(r"[\s\-./()\u00a0]")
_TRUNK_IN_BRACKETS = re.compile(r"^(\+[0-9]{1,3})\s*\(0\)")


def is_withheld(value: Any) -> bool:
    """True for a missing caller ID or one of the words networks use for a withheld number."""
    if not isinstance(value, str):
        return True
    text = unicodedata.normalize("NFKC", value).strip().lower()
    return text == "" or text.removeprefix("tel:").removeprefix("client:") in WITHHELD


def normalize_phone(value: Any, region: str | None = DEFAULT_REGION) -> str | None:
    """The number in E.164, or None for a withheld number, junk, or a national number whose
    region is unknown. `region` (ISO 3166 alpha-2) is used only for numbers without a `+`/`00`."""
    if not isinstance(value, str) or len(value) > MAX_INPUT_CHARS or is_withheld(value):
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    for prefix in ("tel:", "whatsapp:", "sms:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix):]
    if text.startswith("00"):
        text = "+" + text[2:]
    text = _TRUNK_IN_BRACKETS.sub(r"\1", text)
    digits = _SEPARATORS.sub("", text)
    if not digits.startswith("+"):
        national = REGIONS.get((region or "").upper())
        if national is None or not digits.isascii() or not digits.isdigit():
            return None
        code, trunk = national
        if trunk and digits.startswith(trunk):
            digits = digits[len(trunk):]
        elif digits.startswith(code) and len(digits) > len(code) + 7:
            digits = digits[len(code):]  # the country code typed without its "+"
        digits = f"+{code}{digits}"
    return digits if _E164.fullmatch(digits) else None


def country_code(phone: str | None) -> str | None:
    """The region of an E.164 number among the known ones ("SE", "NO", ...), else None."""
    if phone is None:
        return None
    for region, (code, _) in sorted(REGIONS.items(), key=lambda item: -len(item[1][0])):
        if phone.startswith("+" + code):
            return region
    return None


def same_phone(a: Any, b: Any, *, region_a: str | None = DEFAULT_REGION,
               region_b: str | None = DEFAULT_REGION) -> bool:
    """Whether two numbers are the same line; False when either is withheld or not a number.
    Compared in constant time."""
    first = normalize_phone(a, region_a)
    second = normalize_phone(b, region_b)
    if first is None or second is None:
        return False
    return hmac.compare_digest(first.encode(), second.encode())


def masked_phone(phone: str | None) -> str:
    """The last four digits only ("…2233"), for an agent's card; never log even this."""
    return "" if not phone else "…" + phone[-4:]
