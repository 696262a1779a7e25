"""action_check_order_status against a real SQLite store."""

from __future__ import annotations

import logging

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.orders import ActionCheckOrderStatus
from store.repository import OrderStore
from tests.support.store import ANNA, ERIK, ORDERS, interactions
from tests.support.trackers import make_tracker, responses, slot_sets


def run(slots: dict[str, object], sender_id: str = "conv-1") -> tuple[list[str], list[dict], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots=slots, text="where is my order?", sender_id=sender_id)
    events = ActionCheckOrderStatus().run(dispatcher, tracker, {})
    return responses(dispatcher.messages), dispatcher.messages, slot_sets(events)


def test_verified_order_gets_status_items_carrier_tracking_and_eta(test_store: OrderStore) -> None:
    known = ORDERS["in_transit"]
    names, messages, slots = run({"order_number": known.number, "email": ANNA})
    assert names == ["utter_order_status", "utter_order_shipment", "utter_order_status_note"]
    status, shipment, note = messages
    assert status["order_number"] == known.number
    assert status["status_text"] == "on its way"
    assert "1 × Birch table lamp" in status["items"] and "2 × Stoneware mug" in status["items"]
    assert shipment["carrier"] == "PostNord"
    assert shipment["tracking_number"] == known.tracking_number
    assert shipment["tracking_url"].endswith(known.tracking_number or "")
    assert shipment["eta"] not in ("", "not available yet")
    assert "PostNord" in note["status_note"]
    # Ready for a second order: number forgotten, e-mail kept, order remembered.
    assert slots == {"verified_order": known.number, "order_number": None}


def test_email_match_ignores_case_and_spaces(test_store: OrderStore) -> None:
    names, _, _ = run({"order_number": "a10001", "email": f"  {ANNA.upper()} "})
    assert names[0] == "utter_order_status"


@pytest.mark.parametrize("situation", ["delayed", "cancelled", "refunded"])
def test_unusual_statuses_are_explained(test_store: OrderStore, situation: str) -> None:
    names, messages, _ = run({"order_number": ORDERS[situation].number, "email": ANNA})
    assert names[-1] == "utter_order_status_note"
    note = messages[-1]["status_note"]
    expected = {"delayed": "delayed", "cancelled": "cancelled", "refunded": "refund"}[situation]
    assert expected in note.lower()
    if situation == "delayed":
        assert "customs inspection" in note


def test_unshipped_order_says_no_tracking_yet(test_store: OrderStore) -> None:
    names, _, _ = run({"order_number": ORDERS["paid"].number, "email": ANNA})
    assert names[:2] == ["utter_order_status", "utter_order_not_shipped_yet"]


def test_wrong_pair_and_unknown_order_get_the_same_reply(test_store: OrderStore) -> None:
    wrong_email, m1, s1 = run({"order_number": ORDERS["in_transit"].number, "email": ERIK})
    unknown, m2, s2 = run({"order_number": "A99999", "email": ANNA})
    assert wrong_email == unknown == ["utter_order_not_found"]
    assert m1 == m2
    assert s1 == s2 == {"failed_verifications": 1.0, "order_number": None, "email": None}


def test_third_failure_locks_lookups_and_offers_a_person(test_store: OrderStore) -> None:
    names, _, slots = run(
        {"order_number": "A99999", "email": ANNA, "failed_verifications": 2.0}
    )
    assert names == ["utter_order_not_found", "utter_verification_locked", "utter_offer_human"]
    assert slots["verification_locked"] is True
    assert slots["failed_verifications"] == 3.0


def test_locked_conversation_reveals_nothing_even_for_a_right_pair(test_store: OrderStore) -> None:
    known = ORDERS["in_transit"]
    names, _, slots = run(
        {"order_number": known.number, "email": ANNA, "verification_locked": True,
         "failed_verifications": 3.0}
    )
    assert names == ["utter_verification_locked", "utter_offer_human"]
    assert "verified_order" not in slots


def test_second_order_in_the_same_conversation(test_store: OrderStore) -> None:
    first, _, slots = run({"order_number": ORDERS["in_transit"].number, "email": ANNA})
    assert first[0] == "utter_order_status"
    # The e-mail slot is kept; the customer only gives the next order number.
    names, messages, slots = run(
        {"order_number": ORDERS["delayed"].number, "email": ANNA,
         "verified_order": slots["verified_order"]}
    )
    assert names[0] == "utter_order_status"
    assert messages[0]["order_number"] == ORDERS["delayed"].number
    assert slots["verified_order"] == ORDERS["delayed"].number


def test_verified_turn_is_recorded_without_the_email(test_store: OrderStore) -> None:
    known = ORDERS["in_transit"]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        slots={"order_number": known.number, "email": ANNA},
        text=f"it's {ANNA}", intent="inform", sender_id="conv-record",
    )
    ActionCheckOrderStatus().run(dispatcher, tracker, {})
    rows = interactions(test_store, "conv-record")
    assert [(d, n) for d, _, n in rows] == [("in", known.number), ("out", known.number)]
    assert all(ANNA not in text for _, text, _ in rows)
    assert "[e-mail]" in rows[0][1]
    assert "PostNord" in rows[1][1]


def test_failed_verification_records_nothing(test_store: OrderStore) -> None:
    run({"order_number": "A99999", "email": ANNA}, sender_id="conv-failed")
    assert interactions(test_store, "conv-failed") == []


def test_logs_carry_no_email(test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    run({"order_number": ORDERS["in_transit"].number, "email": ANNA})
    run({"order_number": "A99999", "email": ERIK})
    assert ANNA not in caplog.text and ERIK not in caplog.text
    assert "@" not in caplog.text


def test_store_down_gets_a_clear_reply(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import store

    # A database without the schema: the store raises StoreUnavailable, not a stack trace.
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        names, _, slots = run({"order_number": "A10001", "email": ANNA})
    finally:
        store.get_store.cache_clear()
    assert names == ["utter_store_unavailable"]
    assert "failed_verifications" not in slots
