"""Cancelling: confirmation only while the order can be cancelled, the cancel itself by the
verified customer, and keeping the order; against a real store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

import store
from actions.cancel import ActionCancelOrder, ActionKeepOrder, ActionPrepareCancel
from store.models import Order
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.support.store import ORDERS, interactions
from tests.support.trackers import make_tracker

PAID = ORDERS["paid"].number


def in_hand(crm: OrderStore, situation: str, **slots: Any) -> dict[str, Any]:
    number = ORDERS[situation].number
    customer = crm.customer_id_for_order(number)
    assert customer is not None
    return {"verified_order": number, "verified_customer": float(customer), **slots}


def set_status(crm: OrderStore, number: str, status: str) -> None:
    with Session(crm.engine, future=True) as session, session.begin():
        session.execute(update(Order).where(Order.number == number).values(status=status))


def status_of(crm: OrderStore, number: str) -> str:
    order = crm.get_order(number)
    assert order is not None
    return order.status


@pytest.mark.parametrize("status", ["pending", "paid", "packed"])
async def test_an_order_not_shipped_asks_for_confirmation(test_store: OrderStore,
                                                          status: str) -> None:
    set_status(test_store, PAID, status)
    tracker = make_tracker(slots=in_hand(test_store, "paid", order_number=PAID),
                           intent="cancel_order", text="cancel it please")
    messages, events = await run(ActionPrepareCancel(), tracker)
    assert names(messages) == ["utter_confirm_cancel"]
    assert messages[0]["order_number"] == PAID
    assert messages[0]["items"] == "1 × Birch table lamp and 2 × Stoneware mug"
    assert slots_of(events) == {"order_number": None, "pending_question": "cancel_confirmation"}
    assert status_of(test_store, PAID) == status  # nothing cancelled before the "yes"
    assert [d for d, _, _ in interactions(test_store, "test-conversation")] == ["in", "out"]


async def test_the_items_follow_the_conversations_language(test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "paid", language="sv"))
    messages, _ = await run(ActionPrepareCancel(), tracker)
    assert messages[0]["items"] == "1 × Birch table lamp och 2 × Stoneware mug"


@pytest.mark.parametrize(("situation", "response"), [
    ("cancelled", "utter_order_already_cancelled"),
    ("shipped", "utter_order_not_cancellable"),
    ("in_transit", "utter_order_not_cancellable"),
    ("delayed", "utter_order_not_cancellable"),
    ("delivered", "utter_order_not_cancellable_finished"),
    ("refunded", "utter_order_not_cancellable_finished"),
])
async def test_orders_that_cannot_be_cancelled_are_not_offered(
        test_store: OrderStore, situation: str, response: str) -> None:
    tracker = make_tracker(slots=in_hand(test_store, situation), intent="cancel_order")
    messages, events = await run(ActionPrepareCancel(), tracker)
    assert names(messages) == [response]
    assert messages[0]["order_number"] == ORDERS[situation].number
    assert slots_of(events) == {"order_number": None}  # no confirmation question
    assert status_of(test_store, ORDERS[situation].number) == ORDERS[situation].status


async def test_prepare_without_an_order_in_hand_or_when_locked(test_store: OrderStore) -> None:
    messages, events = await run(ActionPrepareCancel(), make_tracker(intent="cancel_order"))
    assert names(messages) == ["utter_anything_else"]
    assert slots_of(events) == {"order_number": None}
    locked = make_tracker(slots=in_hand(test_store, "paid", verification_locked=True))
    messages, events = await run(ActionPrepareCancel(), locked)
    assert names(messages) == ["utter_verification_locked", "utter_offer_human"]
    assert slots_of(events)["pending_question"] == "human_offer"


async def test_the_confirmed_cancel_uses_the_verified_customer_and_cancels(
        test_store: OrderStore, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    real = OrderStore.cancel_order

    def spy(self: OrderStore, *args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(OrderStore, "cancel_order", spy)
    slots = in_hand(test_store, "paid", pending_question="cancel_confirmation")
    tracker = make_tracker(slots=slots, intent="affirm", text="yes", sender_id="conv-cancel")
    messages, events = await run(ActionCancelOrder(), tracker)
    assert names(messages) == ["utter_order_cancelled"]
    assert messages[0]["order_number"] == PAID
    assert events == []
    assert calls == [((PAID,), {"customer_id": int(slots["verified_customer"])})]
    assert status_of(test_store, PAID) == "cancelled"
    turns = interactions(test_store, "conv-cancel")
    assert turns[0][:2] == ("in", "yes") and "cancelled" in turns[1][1]
    # a second "yes" changes nothing
    messages, _ = await run(ActionCancelOrder(), tracker)
    assert names(messages) == ["utter_order_already_cancelled"]


async def test_a_cancel_by_another_customer_changes_nothing(test_store: OrderStore) -> None:
    eriks = in_hand(test_store, "erik_in_transit")["verified_customer"]
    tracker = make_tracker(slots={"verified_order": PAID, "verified_customer": eriks},
                           intent="affirm", text="yes")
    messages, _ = await run(ActionCancelOrder(), tracker)
    assert names(messages) == ["utter_anything_else"]
    assert status_of(test_store, PAID) == "paid"


async def test_a_shipped_order_is_not_cancelled_even_when_confirmed(
        test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "shipped"), intent="affirm", text="yes")
    messages, _ = await run(ActionCancelOrder(), tracker)
    assert names(messages) == ["utter_order_not_cancellable"]
    assert status_of(test_store, ORDERS["shipped"].number) == "shipped"


async def test_cancel_without_a_verified_order_does_nothing(test_store: OrderStore) -> None:
    for slots in ({}, {"verified_order": PAID}):
        messages, events = await run(ActionCancelOrder(),
                                     make_tracker(slots=slots, intent="affirm", text="yes"))
        assert names(messages) == ["utter_anything_else"] and events == []
    assert status_of(test_store, PAID) == "paid"


async def test_keep_leaves_the_order(test_store: OrderStore) -> None:
    tracker = make_tracker(slots=in_hand(test_store, "paid"), intent="deny", text="no")
    messages, events = await run(ActionKeepOrder(), tracker)
    assert names(messages) == ["utter_cancel_kept"]
    assert messages[0]["order_number"] == PAID and events == []
    assert status_of(test_store, PAID) == "paid"


async def test_the_store_down_is_said_plainly(tmp_path: Path, test_store: OrderStore,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    slots = in_hand(test_store, "paid")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    prepared, _ = await run(ActionPrepareCancel(), make_tracker(slots=slots))
    cancelled, events = await run(ActionCancelOrder(), make_tracker(slots=slots, intent="affirm"))
    store.get_store.cache_clear()
    assert names(prepared) == ["utter_store_unavailable"]
    assert names(cancelled) == ["utter_store_unavailable"] and events == []
