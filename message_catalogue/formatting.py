"""Dates, money and lists for a customer's language (Babel's CLDR data), and an order's status
as the catalogue's words: which response, with which parameters.

    format_date(date(2026, 11, 26), "sv")              -> "26 november 2026"
    format_date(date(2026, 11, 26), "zh")              -> "2026年11月26日"
    format_spoken_date(date(2026, 12, 8), "sv", today) -> "tisdag 8 december"
    format_money(Decimal("548.00"), "SEK", "nb")       -> "548,00 SEK"
    format_list(["2 × Lamp", "1 × Throw"], "en")       -> "2 × Lamp and 1 × Throw"

    name, params = order_status_message(order, "sv")
    -> ("utter_order_in_transit", {"order_number": "A10004", "items": "1 × Desk lamp och ...",
                                   "carrier": "PostNord", "eta": "27 november 2026", ...})

The order's status is used by the actions (the chat), the e-mail channel and the Slack card (in
English for agents). Its dates and money are formatted for the language by the functions above;
reasons are the catalogue's `utter_reason_*` parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from babel.dates import format_date as babel_date
from babel.lists import format_list as babel_list
from babel.numbers import format_currency

from message_catalogue.messages import Catalogue, get_catalogue
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


# --- An order's status as the catalogue's words ---

MAX_LINES_LISTED = 5
NOT_SHIPPED = frozenset({"pending", "paid", "packed"})
ON_THE_WAY = frozenset({"shipped", "in_transit", "delayed"})


def items_text(lines: tuple[Any, ...], language: str | None) -> str:
    """'2 × Linen throw and 1 × Desk lamp' in the language's list style; at most five, then +N."""
    parts = [f"{line.qty} × {line.name}" for line in lines[:MAX_LINES_LISTED]]
    hidden = len(lines) - MAX_LINES_LISTED
    if hidden > 0:
        parts.append(f"+{hidden}")
    return format_list(parts, language)


def return_window_closed(order: Any, today: date | None = None) -> bool:
    """Whether a delivered order's return window has closed. The deadline day itself is still
    inside: the store accepts a return until and including it (its days left are 0 that day)."""
    deadline = order.return_deadline
    if deadline is None:
        return order.return_days_left is not None and order.return_days_left <= 0
    return bool(deadline < (today or datetime.now(timezone.utc).date()))


def _date(value: date | datetime | None, language: str | None, catalogue: Catalogue) -> str:
    if value is None:
        return catalogue.text("utter_part_date_unknown", language)
    return format_date(value, language)


def order_status_message(
    order: Any, language: str | None, catalogue: Catalogue | None = None
) -> tuple[str, dict[str, Any]]:
    """The response that tells the customer where `order` (a store.views.OrderDetails) stands."""
    words = catalogue or get_catalogue()
    shipment = order.shipment
    eta = (shipment.eta if shipment is not None else None) or order.eta
    params: dict[str, Any] = {
        "order_number": order.number,
        "items": items_text(order.lines, language),
        "placed_on": _date(order.placed_at, language, words),
        "eta": _date(eta, language, words),
        # the same date as data, for channels that say it their own way (the phone)
        "eta_date": eta.isoformat() if eta is not None else None,
    }
    if shipment is not None:
        params.update(carrier=shipment.carrier, tracking_number=shipment.tracking_number,
                      tracking_url=shipment.tracking_url)
    status = order.status
    if status == "delayed":
        reason = order.delay_reason or "other"
        params["delay_reason"] = words.text(f"utter_reason_delay_{reason}", language)
        return "utter_order_delayed", params
    if status in NOT_SHIPPED or status in ("shipped", "in_transit"):
        return f"utter_order_{status}", params
    if status == "delivered":
        params["delivered_on"] = _date(order.delivered_at, language, words)
        params["return_deadline"] = _date(order.return_deadline, language, words)
        closed = return_window_closed(order)
        name = "utter_order_delivered_return_closed" if closed else "utter_order_delivered"
        return name, params
    if status == "cancelled":
        reason = order.cancel_reason or "other"
        params["cancelled_on"] = _date(order.cancelled_at, language, words)
        params["cancel_reason"] = words.text(f"utter_reason_cancel_{reason}", language)
        return "utter_order_cancelled_status", params
    latest = order.returns[-1] if order.returns else None
    amount = latest.refund_amount if latest is not None else None
    params["refund_amount"] = (
        format_money(amount, order.currency, language) if amount is not None
        else format_money(order.total, order.currency, language)
    )
    if status == "returned":
        params["returned_on"] = _date(latest.received_at if latest else None, language, words)
        return "utter_order_returned", params
    if status == "refunded":
        params["refunded_on"] = _date(latest.refunded_at if latest else None, language, words)
        return "utter_order_refunded", params
    raise ValueError(f"order {order.number} has an unknown status {status!r}")


def order_summary(order: Any) -> str:
    """One line for agents and the CRM history (not shown to customers): number, status, parcel."""
    text = f"Order {order.number}: {order.status}"
    if order.shipment is not None:
        text += f", {order.shipment.carrier} {order.shipment.tracking_number}"
    eta = (order.shipment.eta if order.shipment is not None else None) or order.eta
    if order.status not in ("delivered", "cancelled", "returned", "refunded") and eta:
        text += f", ETA {eta.isoformat()}"
    return text
