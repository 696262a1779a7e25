"""Starting a return: delivered orders inside the window; creates a return and a case."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.returns import ActionStartReturn
from store.repository import OrderStore
from tests.support.store import ANNA, ERIK, ORDERS, count_cases, count_returns, interactions
from tests.support.trackers import make_tracker, responses, slot_sets


def start(
    number: str, email: str, sender_id: str = "conv-return"
) -> tuple[list[str], list[dict], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"order_number": number, "email": email}, intent="start_return",
                           text="I want to return my order", sender_id=sender_id)
    events = ActionStartReturn().run(dispatcher, tracker, {})
    return responses(dispatcher.messages), dispatcher.messages, slot_sets(events)


def test_delivered_order_in_window_gets_a_return_and_a_case(test_store: OrderStore) -> None:
    returns_before, cases_before = count_returns(test_store), count_cases(test_store)
    names, messages, slots = start(ORDERS["delivered"].number, ANNA)
    assert names == ["utter_return_started"]
    message = messages[0]
    assert message["order_number"] == ORDERS["delivered"].number
    assert isinstance(message["case_id"], int) and isinstance(message["return_id"], int)
    assert message["days_left"] == 25
    assert count_returns(test_store) == returns_before + 1
    assert count_cases(test_store) == cases_before + 1
    case = test_store.get_case(message["case_id"])
    assert case is not None and case.conversation_id == "conv-return"
    assert slots["verified_order"] == ORDERS["delivered"].number
    assert [d for d, _, _ in interactions(test_store, "conv-return")] == ["in", "out"]


def test_second_request_finds_the_open_return(test_store: OrderStore) -> None:
    _, first, _ = start(ORDERS["delivered"].number, ANNA)
    after_first = count_returns(test_store)
    names, messages, _ = start(ORDERS["delivered"].number, ANNA)
    assert names == ["utter_return_already_open"]
    assert messages[0]["case_id"] == first[0]["case_id"]
    assert count_returns(test_store) == after_first


def test_undelivered_order_cannot_be_returned(test_store: OrderStore) -> None:
    before = count_returns(test_store)
    names, messages, _ = start(ORDERS["in_transit"].number, ANNA)
    assert names == ["utter_return_not_delivered"]
    assert messages[0]["status_text"] == "on its way"
    assert count_returns(test_store) == before


def test_window_closed_after_30_days(test_store: OrderStore) -> None:
    before = count_returns(test_store), count_cases(test_store)
    names, _, _ = start(ORDERS["delivered_long_ago"].number, ANNA)
    assert names == ["utter_return_window_closed"]
    assert (count_returns(test_store), count_cases(test_store)) == before


def test_wrong_pair_creates_nothing(test_store: OrderStore) -> None:
    before = count_returns(test_store), count_cases(test_store)
    names, _, slots = start(ORDERS["delivered"].number, ERIK)
    assert names == ["utter_order_not_found"]
    assert slots["failed_verifications"] == 1.0
    assert (count_returns(test_store), count_cases(test_store)) == before
