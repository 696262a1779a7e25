"""Starting a return: the reason question for a returnable order, the return and its case once
the reason is given, and the replies for orders that cannot be returned; against a real store."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

import store
from actions.returns import ActionStartReturn
from store.models import Order, Return, SupportCase
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.support.store import ANNA, ORDERS, count_cases, count_returns
from tests.support.trackers import make_tracker

DELIVERED = ORDERS["delivered"].number
SV_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december")


def in_hand(crm: OrderStore, situation: str, **slots: Any) -> dict[str, Any]:
    number = ORDERS[situation].number
    customer = crm.customer_id_for_order(number)
    assert customer is not None
    return {"verified_order": number, "verified_customer": float(customer), **slots}


def returns_of(crm: OrderStore, number: str) -> list[tuple[str, str, int | None]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(
            select(Return).join(Order, Return.order_id == Order.id).where(Order.number == number)
            .order_by(Return.id)).scalars()
        return [(r.reason, r.status, r.case_id) for r in rows]


def case_row(crm: OrderStore, case_id: int) -> tuple[str, str, str | None, str]:
    with Session(crm.engine, future=True) as session:
        case = session.get(SupportCase, case_id)
        assert case is not None
        return case.status, case.subject, case.conversation_id, case.channel


def answering(crm: OrderStore, text: str, **kwargs: Any) -> Any:
    return make_tracker(slots=in_hand(crm, "delivered", pending_question="return_reason"),
                        intent=kwargs.pop("intent", "inform"), text=text,
                        sender_id="conv-return", **kwargs)


async def test_a_returnable_order_is_asked_for_its_reason(test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "delivered", language="sv"),
                           intent="start_return", text="jag vill returnera")
    messages, events = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_ask_return_reason"]
    order = test_store.get_order(DELIVERED)
    assert order is not None and order.delivered_at is not None
    deadline = order.delivered_at.date() + timedelta(days=30)
    assert messages[0]["order_number"] == DELIVERED
    assert messages[0]["return_deadline"] == (
        f"{deadline.day} {SV_MONTHS[deadline.month - 1]} {deadline.year}")
    assert slots_of(events) == {"order_number": None, "pending_question": "return_reason"}
    assert count_returns(test_store) == 1 and returns_of(test_store, DELIVERED) == []


async def test_a_button_reason_opens_the_return_and_its_case(test_store: OrderStore) -> None:
    cases_before = count_cases(test_store)
    tracker = answering(test_store, '/inform{"return_reason": "wrong size"}',
                        entities=[{"entity": "return_reason", "value": "wrong size"}])
    messages, events = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_return_started"]
    said = messages[0]
    assert returns_of(test_store, DELIVERED) == [("wrong size", "requested", said["case_id"])]
    assert count_cases(test_store) == cases_before + 1
    status, subject, conversation, channel = case_row(test_store, said["case_id"])
    assert (status, conversation, channel) == ("open", "conv-return", "chat")
    assert DELIVERED in subject
    assert said["order_number"] == DELIVERED and said["return_id"] is not None
    assert said["days_left"] == 25  # delivered 5 days ago, 30-day window
    assert slots_of(events) == {"order_number": None, "return_reason": "wrong size"}


async def test_a_typed_reason_is_stored_without_addresses(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = answering(test_store, f"the lamp is too small, mail me at {ANNA}",
                        intent="out_of_scope")
    messages, events = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_return_started"]
    reason = "the lamp is too small, mail me at [e-mail]"
    assert returns_of(test_store, DELIVERED)[0][0] == reason
    assert slots_of(events)["return_reason"] == reason
    assert ANNA not in caplog.text


async def test_a_payload_without_a_reason_asks_again(test_store: OrderStore) -> None:
    tracker = answering(test_store, "/inform")
    messages, events = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_ask_return_reason"]
    assert slots_of(events)["pending_question"] == "return_reason"
    assert returns_of(test_store, DELIVERED) == []


async def test_text_is_not_a_reason_unless_the_reason_was_asked(test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "delivered"), intent="start_return",
                           text="I want to return it, it is too small")
    messages, _ = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_ask_return_reason"]


@pytest.mark.parametrize(("situation", "response"), [
    ("paid", "utter_return_not_delivered"),
    ("in_transit", "utter_return_not_delivered"),
    ("delivered_long_ago", "utter_return_window_closed"),
])
async def test_orders_that_cannot_be_returned_get_their_reply_without_a_question(
        test_store: OrderStore, situation: str, response: str) -> None:
    tracker = make_tracker(slots=in_hand(test_store, situation), intent="start_return",
                           text="I want to return my order")
    messages, events = await run(ActionStartReturn(), tracker)
    assert names(messages) == [response]
    assert messages[0]["order_number"] == ORDERS[situation].number
    assert "pending_question" not in slots_of(events)
    assert returns_of(test_store, ORDERS[situation].number) == []


async def test_an_open_return_is_not_opened_twice(test_store: OrderStore) -> None:
    first, _ = await run(ActionStartReturn(), answering(test_store, "broken lamp"))
    assert names(first) == ["utter_return_started"]
    again = make_tracker(slots=in_hand(test_store, "delivered"), intent="start_return",
                         text="return my order")
    messages, events = await run(ActionStartReturn(), again)
    assert names(messages) == ["utter_return_already_open"]
    assert messages[0]["case_id"] == first[0]["case_id"]
    assert "pending_question" not in slots_of(events)
    assert len(returns_of(test_store, DELIVERED)) == 1


async def test_the_last_day_of_the_window_still_asks_for_the_reason(
        test_store: OrderStore) -> None:
    today = datetime.now(timezone.utc).date()
    delivered = datetime.combine(today - timedelta(days=30), datetime.min.time(),
                                 tzinfo=timezone.utc).replace(hour=12)
    with Session(test_store.engine, future=True) as session, session.begin():
        session.execute(update(Order).where(Order.number == DELIVERED)
                        .values(delivered_at=delivered))
    tracker = make_tracker(slots=in_hand(test_store, "delivered"), intent="start_return")
    messages, _ = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_ask_return_reason"]
    assert returns_of(test_store, DELIVERED) == []
    reason, _ = await run(ActionStartReturn(), answering(test_store, "changed my mind"))
    assert names(reason) == ["utter_return_started"]
    assert returns_of(test_store, DELIVERED)[0][0] == "changed my mind"


async def test_the_day_after_the_window_is_closed(test_store: OrderStore) -> None:
    today = datetime.now(timezone.utc).date()
    delivered = datetime.combine(today - timedelta(days=31), datetime.min.time(),
                                 tzinfo=timezone.utc).replace(hour=12)
    with Session(test_store.engine, future=True) as session, session.begin():
        session.execute(update(Order).where(Order.number == DELIVERED)
                        .values(delivered_at=delivered))
    tracker = make_tracker(slots=in_hand(test_store, "delivered"), intent="start_return")
    messages, _ = await run(ActionStartReturn(), tracker)
    assert names(messages) == ["utter_return_window_closed"]


async def test_no_order_in_hand_or_locked(test_store: OrderStore) -> None:
    messages, events = await run(ActionStartReturn(), make_tracker(intent="start_return"))
    assert names(messages) == ["utter_anything_else"]
    assert slots_of(events) == {"order_number": None}
    locked = make_tracker(slots=in_hand(test_store, "delivered", verification_locked=True))
    messages, events = await run(ActionStartReturn(), locked)
    assert names(messages) == ["utter_verification_locked", "utter_offer_human"]
    assert slots_of(events)["human_offer_reason"] == "verification_locked"
    assert returns_of(test_store, DELIVERED) == []


async def test_the_store_down_is_said_plainly(tmp_path: Path, test_store: OrderStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    slots = in_hand(test_store, "delivered", pending_question="return_reason")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    messages, events = await run(ActionStartReturn(),
                                 make_tracker(slots=slots, text="too big", intent="inform"))
    store.get_store.cache_clear()
    assert names(messages) == ["utter_store_unavailable"]
    assert "pending_question" not in slots_of(events)
    assert "return_reason" not in slots_of(events)
