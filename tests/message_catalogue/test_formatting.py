"""catalogue.formatting: dates, money and lists as a customer in each language writes them."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from message_catalogue.formatting import format_date, format_list, format_money, locale_of


def spaced(text: str) -> str:
    """Non-breaking and narrow spaces as plain spaces, for comparing with what people type."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "26 November 2026"),
    ("sv", "26 november 2026"),
    ("nb", "26. november 2026"),
    ("zh", "2026年11月26日"),
    (None, "26 November 2026"),
    ("de", "26 November 2026"),
])
def test_dates(language: str | None, expected: str) -> None:
    assert format_date(date(2026, 11, 26), language) == expected


def test_a_datetime_is_its_date() -> None:
    assert format_date(datetime(2026, 3, 5, 23, 30, tzinfo=timezone.utc), "sv") == "5 mars 2026"


@pytest.mark.parametrize(("language", "small", "large"), [
    ("en", "548.00 SEK", "12,345.50 SEK"),
    ("sv", "548,00 SEK", "12 345,50 SEK"),
    ("nb", "548,00 SEK", "12 345,50 SEK"),
    ("zh", "548.00 SEK", "12,345.50 SEK"),
])
def test_money_with_the_iso_code(language: str, small: str, large: str) -> None:
    assert spaced(format_money(Decimal("548.00"), "SEK", language)) == small
    assert spaced(format_money(Decimal("12345.5"), "SEK", language)) == large
    # the amount and the code never break apart on a line
    assert "\u00a0SEK" in format_money(548, "SEK", language)


def test_money_keeps_the_currency_it_is_given() -> None:
    assert spaced(format_money(Decimal("99"), "NOK", "nb")) == "99,00 NOK"
    assert spaced(format_money(Decimal("0.5"), "EUR", "en")) == "0.50 EUR"


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "2 × Lamp, 1 × Throw and 3 × Mug"),
    ("sv", "2 × Lamp, 1 × Throw och 3 × Mug"),
    ("nb", "2 × Lamp, 1 × Throw og 3 × Mug"),
    ("zh", "2 × Lamp、1 × Throw和3 × Mug"),
])
def test_lists(language: str, expected: str) -> None:
    assert format_list(["2 × Lamp", "1 × Throw", "3 × Mug"], language) == expected


def test_short_lists() -> None:
    assert format_list([], "sv") == ""
    assert format_list(["1 × Lamp"], "sv") == "1 × Lamp"
    assert format_list(["a", "b"], "sv") == "a och b"


def test_locales() -> None:
    assert [locale_of(code) for code in ("en", "sv", "nb", "zh", None, "xx")] == [
        "en_GB", "sv_SE", "nb_NO", "zh_Hant_TW", "en_GB", "en_GB"]
