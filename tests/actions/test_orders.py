"""Order status: the catalogue response for each status, with parameters in the conversation's
language, against a real store."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

import store
from actions.verification import ActionCheckOrderStatus
from message_catalogue.messages import get_catalogue
from store.models import Order
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.support.store import ANNA, ORDERS, interactions
from tests.support.trackers import make_tracker

STATUS_RESPONSES = {
    "in_transit": "utter_order_in_transit",
    "paid": "utter_order_paid",
    "delivered": "utter_order_delivered",
    "delivered_long_ago": "utter_order_delivered_return_closed",
    "delayed": "utter_order_delayed",
    "cancelled": "utter_order_cancelled_status",
    "shipped": "utter_order_shipped",
    "refunded": "utter_order_refunded",
    "erik_in_transit": "utter_order_in_transit",
}


def in_hand(crm: OrderStore, situation: str, **slots: object) -> dict[str, object]:
    number = ORDERS[situation].number
    customer = crm.customer_id_for_order(number)
    assert customer is not None
    return {"verified_order": number, "verified_customer": float(customer), **slots}


def set_dates(crm: OrderStore, number: str, **values: datetime) -> None:
    with Session(crm.engine, future=True) as session, session.begin():
        session.execute(update(Order).where(Order.number == number).values(**values))


@pytest.mark.parametrize("situation", list(STATUS_RESPONSES))
async def test_each_status_gets_its_response(test_store: OrderStore, situation: str) -> None:
    known = ORDERS[situation]
    tracker = make_tracker(slots=in_hand(test_store, situation), sender_id=f"conv-{situation}")
    messages, events = await run(ActionCheckOrderStatus(), tracker)
    assert names(messages) == [STATUS_RESPONSES[situation]]
    said = messages[0]
    assert said["order_number"] == known.number
    if known.carrier:
        assert said["carrier"] == known.carrier
        assert said["tracking_number"] == known.tracking_number
        assert known.tracking_number in said["tracking_url"]
    assert slots_of(events) == {"order_number": None}
    turns = interactions(test_store, f"conv-{situation}")
    assert [(direction, number) for direction, _, number in turns] == [
        ("in", known.number), ("out", known.number)]
    assert known.status in turns[1][1]  # the agents' one-line summary


async def test_the_delay_reason_is_the_catalogues_words(test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "delayed"))
    messages, _ = await run(ActionCheckOrderStatus(), tracker)
    # the carrier wrote "customs inspection in Hamburg"; the customer reads the catalogue's words
    assert messages[0]["delay_reason"] == "it is being inspected by customs"
    assert "Hamburg" not in str(messages)


@pytest.mark.parametrize(("language", "placed_on", "items", "eta"), [
    ("en", "5 March 2026", "1 × Birch table lamp and 2 × Stoneware mug", "not known yet"),
    ("sv", "5 mars 2026", "1 × Birch table lamp och 2 × Stoneware mug", None),
    ("nb", "5. mars 2026", "1 × Birch table lamp og 2 × Stoneware mug", None),
    ("zh", "2026年3月5日", "1 × Birch table lamp和2 × Stoneware mug", None),
])
async def test_parameters_are_formatted_for_the_conversations_language(
        test_store: OrderStore, language: str, placed_on: str, items: str,
        eta: str | None) -> None:
    number = ORDERS["paid"].number
    set_dates(test_store, number, placed_at=datetime(2026, 3, 5, 10, 0, tzinfo=timezone.utc))
    tracker = make_tracker(slots=in_hand(test_store, "paid", language=language))
    messages, _ = await run(ActionCheckOrderStatus(), tracker)
    assert names(messages) == ["utter_order_paid"]
    assert messages[0]["placed_on"] == placed_on
    assert messages[0]["items"] == items
    # not shipped yet: the delivery date is the catalogue's "not known yet" in the language
    assert messages[0]["eta"] == (eta or get_catalogue().text("utter_part_date_unknown",
                                                               language))


async def test_a_refund_amount_is_money_in_the_language(test_store: OrderStore) -> None:
    sv = make_tracker(slots=in_hand(test_store, "refunded", language="sv"))
    messages, _ = await run(ActionCheckOrderStatus(), sv)
    assert messages[0]["refund_amount"] == "748,00\u00a0SEK"
    en = make_tracker(slots=in_hand(test_store, "refunded", language="en"))
    messages, _ = await run(ActionCheckOrderStatus(), en)
    assert messages[0]["refund_amount"] == "748.00\u00a0SEK"


async def test_a_delivered_order_names_its_dates_in_swedish(test_store: OrderStore) -> None:
    number = ORDERS["delivered"].number
    set_dates(test_store, number, delivered_at=datetime(2026, 1, 20, 12, 0, tzinfo=timezone.utc))
    tracker = make_tracker(slots=in_hand(test_store, "delivered", language="sv"))
    messages, _ = await run(ActionCheckOrderStatus(), tracker)
    assert messages[0]["delivered_on"] == "20 januari 2026"
    assert messages[0]["return_deadline"] == "19 februari 2026"  # 30 days later


@pytest.mark.parametrize(("days_ago", "response"), [
    (30, "utter_order_delivered"),  # the deadline is today: a return is still accepted
    (31, "utter_order_delivered_return_closed"),
])
async def test_the_return_window_includes_its_last_day(
        test_store: OrderStore, days_ago: int, response: str) -> None:
    number = ORDERS["delivered"].number
    delivered = datetime.now(timezone.utc).replace(hour=12) - timedelta(days=days_ago)
    set_dates(test_store, number, delivered_at=delivered)
    messages, _ = await run(ActionCheckOrderStatus(),
                            make_tracker(slots=in_hand(test_store, "delivered")))
    assert names(messages) == [response]


async def test_locked_says_so_and_offers_a_person(test_store: OrderStore) -> None:
    tracker = make_tracker(slots={**in_hand(test_store, "paid"), "verification_locked": True})
    messages, events = await run(ActionCheckOrderStatus(), tracker)
    assert names(messages) == ["utter_verification_locked", "utter_offer_human"]
    slots = slots_of(events)
    assert slots["pending_question"] == "human_offer"
    assert slots["human_offer_reason"] == "verification_locked"
    assert interactions(test_store, "test-conversation") == []


async def test_no_order_in_hand_reveals_nothing(test_store: OrderStore) -> None:
    for slots in ({}, {"verified_order": ORDERS["paid"].number},
                  {**in_hand(test_store, "paid"), "order_number": ORDERS["shipped"].number},
                  {"verified_order": ORDERS["erik_in_transit"].number,
                   "verified_customer": in_hand(test_store, "paid")["verified_customer"]}):
        messages, events = await run(ActionCheckOrderStatus(), make_tracker(slots=slots))
        assert names(messages) == ["utter_anything_else"]
        assert slots_of(events) == {"order_number": None}


async def test_the_recorded_turn_has_no_address(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = make_tracker(slots=in_hand(test_store, "in_transit"),
                           text=f"where is A10001? it's {ANNA}", sender_id="conv-mail")
    await run(ActionCheckOrderStatus(), tracker)
    turns = interactions(test_store, "conv-mail")
    assert turns[0][1] == "where is A10001? it's [e-mail]"
    assert ANNA not in caplog.text


async def test_an_address_cut_by_the_length_limit_leaves_no_piece(
        test_store: OrderStore) -> None:
    filler = "the lamp flickers " * 110  # 1980 characters; the address straddles 2000
    tracker = make_tracker(slots=in_hand(test_store, "in_transit"), sender_id="conv-long",
                           text=f"{filler}write to {ANNA} please")
    await run(ActionCheckOrderStatus(), tracker)
    recorded = interactions(test_store, "conv-long")[0][1]
    assert recorded.startswith("the lamp flickers") and len(recorded) <= 2000
    assert "anna" not in recorded and "@" not in recorded


async def test_the_store_down_is_said_plainly(tmp_path: Path, test_store: OrderStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    slots = in_hand(test_store, "paid")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    messages, events = await run(ActionCheckOrderStatus(), make_tracker(slots=slots))
    store.get_store.cache_clear()
    assert names(messages) == ["utter_store_unavailable"]
    assert events == []
