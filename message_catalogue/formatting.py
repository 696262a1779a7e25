"""Dates, money, lists and durations for a customer's language (Babel's CLDR data).

    format_date(date(2026, 11, 26), "sv")              -> "26 november 2026"
    format_date(date(2026, 11, 26), "zh")              -> "2026年11月26日"
    format_money(Decimal("548.00"), "SEK", "nb")       -> "548,00 SEK"
    format_list(["2 × Lamp", "1 × Throw"], "en")       -> "2 × Lamp and 1 × Throw"
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from babel.dates import format_date as babel_date
from babel.lists import format_list as babel_list
from babel.numbers import format_currency

from nordvik.languages import DEFAULT_LANGUAGE, LOCALES


def locale_of(language: str | None) -> str:
    return LOCALES.get(language or DEFAULT_LANGUAGE, LOCALES[DEFAULT_LANGUAGE])


def format_date(value: date | datetime, language: str | None) -> str:
    day = value.date() if isinstance(value, datetime) else value
    return str(babel_date(day, format="long", locale=locale_of(language)))


# Dates as people say them: the weekday, the day and the month; the year only when it is not
# this year. For spoken replies (the phone channel), where "8 december 2026" sounds like a form.
_SPOKEN_DATE = {"en": ("EEEE d MMMM", "EEEE d MMMM y"), "sv": ("EEEE d MMMM", "EEEE d MMMM y"),
                "nb": ("EEEE d. MMMM", "EEEE d. MMMM y"), "zh": ("M月d日 EEEE", "y年M月d日 EEEE")}


def format_spoken_date(value: date | datetime, language: str | None, today: date) -> str:
    """format_spoken_date(date(2026, 12, 8), "sv", today) -> "tisdag 8 december"."""
    day = value.date() if isinstance(value, datetime) else value
    patterns = _SPOKEN_DATE.get(language or DEFAULT_LANGUAGE, _SPOKEN_DATE[DEFAULT_LANGUAGE])
    pattern = patterns[0] if day.year == today.year else patterns[1]
    return str(babel_date(day, pattern, locale=locale_of(language)))


def format_money(amount: Decimal | float | int, currency: str, language: str | None) -> str:
    """The amount with the locale's separators and the ISO code ("548,00 SEK"), which reads the
    same to a customer in Sweden, Norway and Taiwan."""
    return str(format_currency(amount, currency, format="#,##0.00\u00a0¤¤",
                               locale=locale_of(language), currency_digits=False))


def format_list(items: Sequence[str], language: str | None) -> str:
    return str(babel_list(list(items), locale=locale_of(language))) if items else ""
