"""Cancelling: verify, only before shipping, confirm first, idempotent."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionCancelOrder, ActionKeepOrder, ActionPrepareCancel
from store.repository import OrderStore
from tests.support.store import ANNA, ERIK, ORDERS, interactions
from tests.support.trackers import make_tracker, responses, slot_sets


def prepare(number: str, email: str, **slots: object) -> tuple[list[str], list[dict], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"order_number": number, "email": email, **slots}, intent="cancel_order",
        text="cancel my order", sender_id="conv-cancel",
    )
    events = ActionPrepareCancel().run(dispatcher, tracker, {})
    return responses(dispatcher.messages), dispatcher.messages, slot_sets(events)


def confirm(number: str, email: str) -> tuple[list[str], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"verified_order": number, "email": email, "awaiting_cancel_confirmation": True},
        intent="affirm", text="yes", sender_id="conv-cancel",
    )
    events = ActionCancelOrder().run(dispatcher, tracker, {})
    return responses(dispatcher.messages), slot_sets(events)


def test_unshipped_order_asks_for_confirmation_and_changes_nothing(
    test_store: OrderStore,
) -> None:
    number = ORDERS["paid"].number
    names, messages, slots = prepare(number, ANNA)
    assert names == ["utter_confirm_cancel"]
    assert messages[0]["order_number"] == number
    assert slots["awaiting_cancel_confirmation"] is True
    assert slots["verified_order"] == number
    assert test_store.verify_order(number, ANNA).status == "paid"  # type: ignore[union-attr]


def test_confirmed_cancel_cancels_once_and_is_idempotent(test_store: OrderStore) -> None:
    number = ORDERS["paid"].number
    names, slots = confirm(number, ANNA)
    assert names == ["utter_order_cancelled"]
    assert slots == {"awaiting_cancel_confirmation": False}
    assert test_store.verify_order(number, ANNA).status == "cancelled"  # type: ignore[union-attr]
    again, _ = confirm(number, ANNA)
    assert again == ["utter_order_already_cancelled"]
    directions = [d for d, _, _ in interactions(test_store, "conv-cancel")]
    assert directions == ["in", "out", "in", "out"]


def test_denied_cancel_keeps_the_order(test_store: OrderStore) -> None:
    number = ORDERS["paid"].number
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"verified_order": number, "email": ANNA, "awaiting_cancel_confirmation": True},
        intent="deny", text="no, keep it",
    )
    events = ActionKeepOrder().run(dispatcher, tracker, {})
    assert responses(dispatcher.messages) == ["utter_cancel_kept"]
    assert dispatcher.messages[0]["order_number"] == number
    assert slot_sets(events) == {"awaiting_cancel_confirmation": False}
    assert test_store.verify_order(number, ANNA).status == "paid"  # type: ignore[union-attr]


def test_shipped_order_is_not_cancellable(test_store: OrderStore) -> None:
    number = ORDERS["shipped"].number
    names, messages, slots = prepare(number, ANNA)
    assert names == ["utter_order_not_cancellable"]
    assert messages[0]["status_text"] == "shipped"
    assert "awaiting_cancel_confirmation" not in slots
    assert test_store.verify_order(number, ANNA).status == "shipped"  # type: ignore[union-attr]


def test_already_cancelled_order_says_so(test_store: OrderStore) -> None:
    names, _, slots = prepare(ORDERS["cancelled"].number, ANNA)
    assert names == ["utter_order_already_cancelled"]
    assert "awaiting_cancel_confirmation" not in slots


def test_wrong_pair_cannot_cancel(test_store: OrderStore) -> None:
    number = ORDERS["paid"].number
    names, _, slots = prepare(number, ERIK)
    assert names == ["utter_order_not_found"]
    assert slots["failed_verifications"] == 1.0
    # Even a forged confirmation does not cancel someone else's order.
    names, _ = confirm(number, ERIK)
    assert names == ["utter_order_not_found"]
    assert test_store.verify_order(number, ANNA).status == "paid"  # type: ignore[union-attr]


def test_confirmation_without_a_pending_question_does_nothing(test_store: OrderStore) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"verified_order": ORDERS["paid"].number, "email": ANNA},
                           intent="affirm", text="yes")
    ActionCancelOrder().run(dispatcher, tracker, {})
    assert responses(dispatcher.messages) == ["utter_ask_rephrase"]
    assert test_store.verify_order(ORDERS["paid"].number, ANNA).status == "paid"  # type: ignore[union-attr]
