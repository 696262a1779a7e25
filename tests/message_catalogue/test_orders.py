"""catalogue.formatting.order_status_message: every order status as its response and parameters,
in every language."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from message_catalogue.formatting import (
    items_text,
    order_status_message,
    order_summary,
    return_window_closed,
)
from message_catalogue.messages import get_catalogue
from nordvik.languages import LANGUAGES
from store.models import ORDER_STATUSES
from store.notes import CANCEL_REASONS, DELAY_REASONS
from store.views import OrderDetails, OrderLineView, ReturnView, ShipmentView

PLACED = datetime(2026, 3, 5, 10, 0, tzinfo=timezone.utc)
LINES = (OrderLineView("NV-LAMP-01", "Birch table lamp", 1, Decimal("499.00")),
         OrderLineView("NV-MUG-02", "Stoneware mug", 2, Decimal("124.50")))
SHIPMENT = ShipmentView(carrier="PostNord", tracking_number="PN1SE",
                        tracking_url="https://tracking.example/PN1SE", status="in_transit",
                        eta=date(2026, 3, 10), events=())
_LEFT_OVER = re.compile(r"{([^\n{}]+?)}")


def order(status: str, **changes: Any) -> OrderDetails:
    base = OrderDetails(
        number="A10001", status=status, placed_at=PLACED, total=Decimal("748.00"),
        currency="SEK", lines=LINES, shipment=None, returns=(), customer_id=1,
        customer_name="Anna Berg", eta=None)
    return dataclasses.replace(base, **changes)


def returned(status: str, **dates: Any) -> ReturnView:
    return ReturnView(id=1, status=status, reason="too small", created_at=PLACED,
                      received_at=dates.get("received_at"), refunded_at=dates.get("refunded_at"),
                      refund_amount=Decimal("499.00"), case_id=None)


TODAY = datetime.now(timezone.utc).date()
EXAMPLES: dict[str, tuple[OrderDetails, str]] = {
    "pending": (order("pending"), "utter_order_pending"),
    "paid": (order("paid"), "utter_order_paid"),
    "packed": (order("packed"), "utter_order_packed"),
    "shipped": (order("shipped", shipment=SHIPMENT, eta=SHIPMENT.eta), "utter_order_shipped"),
    "in_transit": (order("in_transit", shipment=SHIPMENT), "utter_order_in_transit"),
    "delayed": (order("delayed", shipment=SHIPMENT, delay_reason="customs"),
                "utter_order_delayed"),
    "delivered": (order("delivered", shipment=SHIPMENT, delivered_at=PLACED,
                        return_deadline=TODAY + timedelta(days=3), return_days_left=3),
                  "utter_order_delivered"),
    "delivered, window closed": (
        order("delivered", shipment=SHIPMENT, delivered_at=PLACED,
              return_deadline=TODAY - timedelta(days=1), return_days_left=0),
        "utter_order_delivered_return_closed"),
    "cancelled": (order("cancelled", cancelled_at=PLACED, cancel_reason="stock"),
                  "utter_order_cancelled_status"),
    "returned": (order("returned", returns=(returned("received", received_at=PLACED),)),
                 "utter_order_returned"),
    "refunded": (order("refunded", returns=(returned("refunded", received_at=PLACED,
                                                     refunded_at=PLACED),)),
                 "utter_order_refunded"),
}


def test_every_store_status_has_an_example() -> None:
    assert set(ORDER_STATUSES) <= {example.status for example, _ in EXAMPLES.values()}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("situation", list(EXAMPLES))
def test_every_status_fills_its_response(situation: str, language: str) -> None:
    example, response = EXAMPLES[situation]
    name, params = order_status_message(example, language)
    assert name == response
    assert params["order_number"] == "A10001"
    text = get_catalogue().text(name, language, **params)
    assert not _LEFT_OVER.findall(text), text
    assert "A10001" in text


def test_the_parameters_in_swedish() -> None:
    _, params = order_status_message(EXAMPLES["delayed"][0], "sv")
    assert params["items"] == "1 × Birch table lamp och 2 × Stoneware mug"
    assert params["placed_on"] == "5 mars 2026" and params["eta"] == "10 mars 2026"
    assert params["carrier"] == "PostNord" and params["tracking_number"] == "PN1SE"
    assert params["delay_reason"] == get_catalogue().text("utter_reason_delay_customs", "sv")
    _, refunded = order_status_message(EXAMPLES["refunded"][0], "sv")
    assert refunded["refund_amount"] == "499,00\u00a0SEK"
    assert refunded["refunded_on"] == "5 mars 2026"


def test_the_parameters_in_chinese() -> None:
    _, params = order_status_message(EXAMPLES["cancelled"][0], "zh")
    assert params["cancelled_on"] == "2026年3月5日"
    assert params["items"] == "1 × Birch table lamp和2 × Stoneware mug"
    assert params["cancel_reason"] == get_catalogue().text("utter_reason_cancel_stock", "zh")
    assert params["eta"] == get_catalogue().text("utter_part_date_unknown", "zh")


def test_a_refund_without_a_return_amount_is_the_order_total() -> None:
    _, params = order_status_message(order("refunded"), "en")
    assert params["refund_amount"] == "748.00\u00a0SEK"
    assert params["refunded_on"] == get_catalogue().text("utter_part_date_unknown", "en")


@pytest.mark.parametrize("code", DELAY_REASONS)
def test_every_delay_reason_has_words(code: str) -> None:
    texts = {language: order_status_message(order("delayed", shipment=SHIPMENT,
                                                  delay_reason=code), language)[1]["delay_reason"]
             for language in LANGUAGES}
    assert all(texts.values()) and len(set(texts.values())) == len(LANGUAGES)


@pytest.mark.parametrize("code", CANCEL_REASONS)
def test_every_cancel_reason_has_words(code: str) -> None:
    texts = {language: order_status_message(order("cancelled", cancel_reason=code),
                                            language)[1]["cancel_reason"]
             for language in LANGUAGES}
    assert all(texts.values()) and len(set(texts.values())) == len(LANGUAGES)


def test_missing_reasons_are_other() -> None:
    _, delayed = order_status_message(order("delayed", shipment=SHIPMENT), "en")
    assert delayed["delay_reason"] == get_catalogue().text("utter_reason_delay_other", "en")
    _, cancelled = order_status_message(order("cancelled"), "en")
    assert cancelled["cancel_reason"] == get_catalogue().text("utter_reason_cancel_other", "en")


def test_an_unknown_status_is_an_error() -> None:
    with pytest.raises(ValueError, match="lost_in_space"):
        order_status_message(order("lost_in_space"), "en")


def test_the_window_includes_its_last_day() -> None:
    today = date(2026, 11, 26)
    last_day = order("delivered", return_deadline=today, return_days_left=0)
    assert not return_window_closed(last_day, today)
    assert return_window_closed(last_day, today + timedelta(days=1))
    assert return_window_closed(order("delivered", return_days_left=0))
    assert not return_window_closed(order("delivered"))


def test_items_beyond_five_are_counted() -> None:
    lines = tuple(OrderLineView(f"SKU{i}", f"Item {i}", 1, Decimal("1")) for i in range(7))
    assert items_text(lines, "en") == (
        "1 × Item 0, 1 × Item 1, 1 × Item 2, 1 × Item 3, 1 × Item 4 and +2")
    assert items_text((), "sv") == ""


def test_the_summary_for_agents() -> None:
    assert order_summary(EXAMPLES["in_transit"][0]) == (
        "Order A10001: in_transit, PostNord PN1SE, ETA 2026-03-10")
    assert order_summary(EXAMPLES["paid"][0]) == "Order A10001: paid"
    assert order_summary(EXAMPLES["delivered"][0]) == "Order A10001: delivered, PostNord PN1SE"
