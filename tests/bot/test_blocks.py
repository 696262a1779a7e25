"""Block Kit builders, tested as dicts."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

from bot.blocks.messages import notice, suggest_modal
from bot.blocks.order_card import order_card_message
from bot.blocks.suggestions import (
    HELPFUL_ACTION,
    NOT_HELPFUL_ACTION,
    POST_REPLY_ACTION,
    VALUE_LIMIT,
    ReplyTarget,
    no_match_message,
    parse_value,
    suggestions_message,
)
from store.views import (
    CaseView,
    CustomerCard,
    InteractionView,
    OrderDetails,
    OrderLineView,
    ShipmentEventView,
    ShipmentView,
)
from tests.bot.conftest import hit

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)


def _buttons(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_suggestions_show_title_link_draft_language_and_buttons() -> None:
    message = suggestions_message("delivery to Norway?", [hit(), hit("returns-policy", 0.5)],
                                  source="slack_mention", target=ReplyTarget("C1", "1.2"))
    text = json.dumps(message["blocks"])
    link = "<https://help.nordvik.example/articles/shipping-norway|Title of shipping-norway>"
    assert link in text
    assert "Parcels to Norway arrive in 2-5 business days." in text
    assert "English" in text
    assert "past its review date" not in text
    ids = [b["action_id"] for b in _buttons(message)]
    assert ids == [HELPFUL_ACTION, NOT_HELPFUL_ACTION, POST_REPLY_ACTION] * 2
    post = parse_value(_buttons(message)[2]["value"])
    assert post == {"a": "shipping-norway", "c": "C1", "t": "1.2",
                    "d": "Parcels to Norway arrive in 2-5 business days."}
    vote = parse_value(_buttons(message)[0]["value"])
    assert vote == {"a": "shipping-norway", "q": "delivery to Norway?", "s": "slack_mention"}


def test_stale_article_gets_a_warning_and_no_thread_means_no_post_button() -> None:
    message = suggestions_message("gift card", [hit("gift-cards", stale=True)], source="x")
    assert "past its review date" in json.dumps(message["blocks"])
    assert POST_REPLY_ACTION not in [b["action_id"] for b in _buttons(message)]


def test_button_values_stay_under_slacks_limit_and_text_is_escaped() -> None:
    long = "<script>&" + "åäö 退貨 " * 2000
    message = suggestions_message(long, [hit(passage=long)], source="x",
                                  target=ReplyTarget("C1", "1.2"))
    for button in _buttons(message):
        assert len(button["value"]) <= VALUE_LIMIT
        assert parse_value(button["value"])["a"] == "shipping-norway"
    for block in message["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert "<script>" not in block["text"]["text"]


def test_parse_value_rejects_junk() -> None:
    assert parse_value("not json") == {}
    assert parse_value("[1, 2]") == {}
    assert parse_value(None) == {}
    assert parse_value('{"a": 5, "b": "x"}') == {"b": "x"}


def test_no_match_and_notice_and_modal() -> None:
    assert "content gap" in no_match_message("blorp")["text"]
    assert notice("hello")["blocks"][0]["text"]["text"] == "hello"
    modal = suggest_modal("C9")
    assert modal["type"] == "modal" and modal["private_metadata"] == "C9"
    assert modal["blocks"][0]["element"]["type"] == "plain_text_input"


def _card() -> CustomerCard:
    shipment = ShipmentView(
        carrier="PostNord", tracking_number="PN123SE",
        tracking_url="https://tracking.postnord.example/PN123SE", status="in_transit",
        eta=date(2026, 11, 24),
        events=(ShipmentEventView(NOW, "in_transit", "Malmö", "Parcel in transit"),))
    order = OrderDetails(
        number="A10001", status="in_transit", placed_at=NOW, total=Decimal("598.00"),
        currency="SEK", lines=(OrderLineView("SKU-1", "Lamp <big>", 2, Decimal("299.00")),),
        shipment=shipment, returns=(), customer_id=7, customer_name="Anna Berg",
        eta=date(2026, 11, 24), delay_reason="weather")
    return CustomerCard(
        customer_id=7, name="Anna Berg", email="anna@example.com", phone=None, country="SE",
        language="sv", customer_since=NOW, order=order, order_count=3,
        lifetime_value=Decimal("1500.00"), recent_orders=(),
        open_cases=(CaseView(5, "Where is my parcel", "chat", "open", 7, "A10001", None, None,
                             None, None, NOW, None),),
        recent_interactions=(InteractionView("c1", "chat", "in", "where is it?", "A10001", NOW),),
        csat_average=4.5)


def test_order_card_has_every_section() -> None:
    message = order_card_message(_card())
    text = json.dumps(message["blocks"], ensure_ascii=False)
    assert message["blocks"][0]["text"]["text"] == "Order A10001 · in_transit"
    for expected in ("`weather`", "2 × Lamp &lt;big&gt;", "598.00 SEK", "PN123SE",
                     "https://tracking.postnord.example/PN123SE", "Parcel in transit",
                     "*Returns*\\n_none_", "#5 Where is my parcel", "where is it?",
                     "CSAT 4.5/5", "Anna Berg"):
        assert expected in text, expected
