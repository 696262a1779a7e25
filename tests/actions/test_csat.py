"""CSAT actions: when a rating is due, validation of answers, storing against a real store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.csat import (
    SKIPPED,
    ActionSubmitCsat,
    ActionUpdateCsatDue,
    ValidateCsatForm,
    parse_rating,
    rating_due,
)
from store.repository import OrderStore
from tests.handoff.store_fixture import ORDER_NUMBER, csat_rows, customer_id, make_store


def bot(response: str) -> dict[str, Any]:
    return {"event": "bot", "text": "...", "metadata": {"utter_action": response}}


def test_rating_is_due_after_a_resolved_order_answer_or_a_started_return() -> None:
    assert not rating_due([bot("utter_greet")])
    assert rating_due([bot("utter_greet"), bot("utter_order_status")])
    assert rating_due([bot("utter_return_started")])
    asked = {"event": "active_loop", "name": "csat_form"}
    assert not rating_due([bot("utter_order_status"), asked])
    assert rating_due([bot("utter_order_status"), asked, bot("utter_order_status")])
    # a wrong pair reveals nothing and resolves nothing
    assert not rating_due([bot("utter_order_not_found")])


@pytest.mark.parametrize(("message", "expected"), [
    ({"entities": [{"entity": "csat_rating", "value": "4"}], "text": "/csat_rating"}, 4),
    ({"entities": [{"entity": "csat_rating", "value": "9"}], "text": "/csat_rating"}, None),
    ({"text": "5"}, 5), ({"text": " 3 stars "}, 3), ({"text": "2/5"}, 2),
    ({"text": "A10234"}, None), ({"text": "6"}, None), ({"text": "where is my order"}, None),
    ({"text": "1; DROP TABLE csat"}, None), ({"text": "５"}, None), ({"text": ""}, None),
])
def test_parse_rating(message: dict[str, Any], expected: int | None) -> None:
    assert parse_rating(message) == expected


def tracker(slots: dict[str, Any], *, intent: str = "csat_rating", text: str = "",
            entities: list[dict[str, Any]] | None = None,
            events: list[dict[str, Any]] | None = None, sender: str = "conv-9") -> Tracker:
    latest = {"intent": {"name": intent}, "text": text, "entities": entities or []}
    return Tracker(sender, slots, latest, events or [], False, None, {}, "action_listen")


async def test_update_csat_due_sets_the_slot_only_when_it_changes() -> None:
    action = ActionUpdateCsatDue()
    dispatcher = CollectingDispatcher()
    due = tracker({"csat_due": False}, events=[bot("utter_order_status")])
    assert await action.run(dispatcher, due, {}) == [SlotSet("csat_due", True)]
    assert await action.run(dispatcher, tracker({"csat_due": True},
                                                events=[bot("utter_order_status")]), {}) == []


def test_validation_of_rating_comment_and_skip() -> None:
    form = ValidateCsatForm()
    d = CollectingDispatcher()
    rated = tracker({}, text="/csat_rating",
                    entities=[{"entity": "csat_rating", "value": "5"}])
    assert form.validate_csat_rating("/csat_rating", d, rated, {}) == {"csat_rating": "5"}
    skip = tracker({}, intent="csat_skip", text="/csat_skip")
    assert form.validate_csat_rating("/csat_skip", d, skip, {}) == {
        "csat_rating": SKIPPED, "csat_comment": SKIPPED}
    moved_on = tracker({}, intent="check_order_status", text="where is my order")
    assert form.validate_csat_rating("where is my order", d, moved_on, {})["csat_rating"] == SKIPPED
    assert form.validate_csat_comment("/csat_skip", d, skip, {}) == {"csat_comment": SKIPPED}
    said = tracker({}, intent="thank", text="Anna was great")
    assert form.validate_csat_comment("Anna was great", d, said, {}) == {
        "csat_comment": "Anna was great"}
    long = "x" * 5000
    assert len(form.validate_csat_comment(long, d, said, {})["csat_comment"]) == 2000


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path, monkeypatch)


async def test_submit_stores_rating_and_comment_against_customer_and_conversation(
        crm: OrderStore) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitCsat().run(dispatcher, tracker(
        {"csat_rating": "4", "csat_comment": "Quick answer", "verified_order": ORDER_NUMBER}), {})
    assert csat_rows(crm)[0].rating == 4
    row = csat_rows(crm)[0]
    assert (row.conversation_id, row.comment, row.customer_id, row.case_id) == (
        "conv-9", "Quick answer", customer_id(crm), None)
    assert [m["response"] for m in dispatcher.messages] == ["utter_csat_thanks"]
    assert SlotSet("csat_due", False) in events and SlotSet("csat_rating", None) in events


async def test_submit_after_a_handoff_links_the_case_and_its_customer(crm: OrderStore) -> None:
    case = crm.open_case(subject="Chat handoff", channel="chat",
                         customer_id=customer_id(crm), conversation_id="conv-9",
                         status="handoff")
    crm.close_case(case.id, "resolved in chat")
    await ActionSubmitCsat().run(CollectingDispatcher(), tracker(
        {"csat_rating": "5", "csat_comment": SKIPPED, "csat_case_id": float(case.id)}), {})
    row = csat_rows(crm)[0]
    assert (row.rating, row.comment, row.case_id, row.customer_id) == (
        5, None, case.id, customer_id(crm))


async def test_skipping_stores_nothing(crm: OrderStore) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSubmitCsat().run(dispatcher, tracker({"csat_rating": SKIPPED,
                                                      "csat_comment": SKIPPED}), {})
    assert csat_rows(crm) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_csat_skipped"]


async def test_store_unavailable_is_said_plainly(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import store

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}")
    store.get_store.cache_clear()
    dispatcher = CollectingDispatcher()
    await ActionSubmitCsat().run(dispatcher, tracker({"csat_rating": "3",
                                                      "csat_comment": SKIPPED}), {})
    store.get_store.cache_clear()
    assert [m["response"] for m in dispatcher.messages] == ["utter_csat_not_saved"]
