"""Customer satisfaction: reading a rating, storing it and its comment, and "yes", "no" or a
rating when the bot asked nothing; against a real store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import FollowupAction
from sqlalchemy import select
from sqlalchemy.orm import Session

import store
from actions.csat import (
    ActionAskCsat,
    ActionAskCsatComment,
    ActionCsatComment,
    ActionOutOfContext,
    ActionSubmitCsat,
    parse_rating,
)
from store.models import CsatFeedback
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.support.store import ANNA, ORDERS
from tests.support.trackers import make_tracker


def ratings(crm: OrderStore) -> list[tuple[str, int, str | None, int | None, int | None]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(CsatFeedback).order_by(CsatFeedback.id)).scalars()
        return [(r.conversation_id, r.rating, r.comment, r.customer_id, r.case_id) for r in rows]


def typed(text: str) -> dict[str, Any]:
    return {"text": text, "entities": []}


# --- reading a rating ---------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "rating"), [
    ("4", 4), ("5", 5), (" 1 ", 1), ("５", 5),
    ("5 stars", 5), ("3 stjärnor", 3), ("2 stjerner", 2), ("4 顆星", 4),
    ("4/5", 4), ("5/5", 5), ("1/5", 1), ("3 / 5", 3),
    ("I'd give it a 3", 3),
    ("five", 5), ("Four", 4), ("one", 1),
    ("fem", 5), ("fyra", 4), ("två", 2), ("tre", 3), ("ett", 1),
    ("fire", 4), ("to", 2), ("ei", 1),
    ("五", 5), ("四", 4), ("兩", 2), ("五顆星", 5),
    ("fem stjärnor", 5), ("fire stjerner", 4),
])
def test_ratings_typed_in_any_language(text: str, rating: int) -> None:
    assert parse_rating(typed(text)) == rating


@pytest.mark.parametrize("text", [
    "10/10", "3 or 4", "thanks to you", "6", "0", "10", "45", "12345",
    "A12345", "", "great", "to be honest it was ok", "five or four", "3/50", "/5",
    "/csat_rating", "x" * 100, "3.5",
])
def test_things_that_are_not_one_rating(text: str) -> None:
    assert parse_rating(typed(text)) is None


def test_a_button_entity_wins_and_must_be_one_to_five() -> None:
    button = {"text": '/csat_rating{"csat_rating": "4"}',
              "entities": [{"entity": "csat_rating", "value": "4"}]}
    assert parse_rating(button) == 4
    forged = {"text": "5", "entities": [{"entity": "csat_rating", "value": "9"}]}
    assert parse_rating(forged) is None


# --- asking and storing -------------------------------------------------------------------------


async def test_the_rating_question_opens_its_pending_question() -> None:
    messages, events = await run(ActionAskCsat(), make_tracker(intent="thank", text="thanks"))
    assert names(messages) == ["utter_ask_csat_rating"]
    assert slots_of(events) == {"pending_question": "csat_rating"}
    messages, events = await run(ActionAskCsatComment(), make_tracker(intent="csat_rating"))
    assert names(messages) == ["utter_ask_csat_comment"]
    assert slots_of(events) == {"pending_question": "csat_comment"}


async def test_a_rating_is_stored_with_the_customer_and_the_case(test_store: OrderStore) -> None:
    customer = test_store.customer_id_for_order(ORDERS["paid"].number)
    case = test_store.open_case(subject="handoff", channel="chat", conversation_id="conv-csat")
    tracker = make_tracker(intent="csat_rating", text="4/5", sender_id="conv-csat",
                           slots={"pending_question": "csat_rating", "csat_due": True,
                                  "verified_customer": float(customer or 0),
                                  "csat_case_id": float(case.id)})
    messages, events = await run(ActionSubmitCsat(), tracker)
    assert messages == []  # the comment question follows: action_ask_csat_comment
    assert FollowupAction("action_ask_csat_comment") in events
    assert ratings(test_store) == [("conv-csat", 4, None, customer, case.id)]
    assert slots_of(events) == {"csat_due": False, "csat_case_id": None}


async def test_a_rating_after_a_phone_transfer_is_stored_with_the_handoffs_case(
        test_store: OrderStore) -> None:
    # an answered transfer ends the call's handoff on the phone, not in Slack: the rating the
    # phone asks follows the case still in hand
    case = test_store.open_case(subject="handoff", channel="phone", conversation_id="call-csat")
    tracker = make_tracker(intent="csat_rating", text="5", sender_id="call-csat",
                           slots={"pending_question": "csat_rating", "csat_due": True,
                                  "handoff_case_id": float(case.id)})
    await run(ActionSubmitCsat(), tracker)
    assert ratings(test_store) == [("call-csat", 5, None, None, case.id)]
    # a case an agent closed in Slack comes first
    other = test_store.open_case(subject="handoff", channel="chat", conversation_id="chat-csat")
    tracker = make_tracker(intent="csat_rating", text="3", sender_id="chat-csat",
                           slots={"pending_question": "csat_rating", "csat_due": True,
                                  "csat_case_id": float(other.id),
                                  "handoff_case_id": float(case.id)})
    await run(ActionSubmitCsat(), tracker)
    assert ratings(test_store)[-1] == ("chat-csat", 3, None, None, other.id)


@pytest.mark.parametrize(("intent", "text"), [("csat_skip", "/csat_skip"), ("deny", "no"),
                                              ("deny", "5 no thanks")])
async def test_skipping_stores_nothing(test_store: OrderStore, intent: str, text: str) -> None:
    tracker = make_tracker(intent=intent, text=text, slots={"pending_question": "csat_rating"})
    messages, events = await run(ActionSubmitCsat(), tracker)
    assert names(messages) == ["utter_csat_skipped"]
    assert ratings(test_store) == []
    assert slots_of(events) == {"csat_due": False, "csat_case_id": None}


async def test_an_unreadable_rating_stores_nothing(test_store: OrderStore) -> None:
    tracker = make_tracker(intent="csat_rating", text="10/10",
                           slots={"pending_question": "csat_rating"})
    messages, events = await run(ActionSubmitCsat(), tracker)
    assert ratings(test_store) == []
    assert names(messages) == ["utter_csat_rating_invalid"]  # no comment question follows
    assert events == []  # the question stays open for this one answer


async def test_the_store_down_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        messages, events = await run(ActionSubmitCsat(),
                                     make_tracker(intent="csat_rating", text="5"))
        comment, _ = await run(ActionCsatComment(),
                               make_tracker(intent="out_of_scope", text="nice bot"))
    finally:
        store.get_store.cache_clear()
    assert names(messages) == ["utter_csat_not_saved"]
    assert slots_of(events) == {"csat_due": False, "csat_case_id": None}
    assert names(comment) == ["utter_csat_thanks"]  # the customer is thanked anyway


async def test_a_comment_is_added_to_the_rating_without_addresses(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await run(ActionSubmitCsat(), make_tracker(intent="csat_rating", text="2",
                                               sender_id="conv-c"))
    tracker = make_tracker(intent="complaint", sender_id="conv-c",
                           text=f"the parcel was late, reply to {ANNA}",
                           slots={"pending_question": "csat_comment"})
    messages, events = await run(ActionCsatComment(), tracker)
    assert names(messages) == ["utter_csat_thanks"] and events == []
    assert ratings(test_store) == [
        ("conv-c", 2, "the parcel was late, reply to [e-mail]", None, None)]
    assert ANNA not in caplog.text


@pytest.mark.parametrize(("intent", "text"), [("csat_skip", "/csat_skip"), ("deny", "no")])
async def test_no_comment_adds_nothing(test_store: OrderStore, intent: str, text: str) -> None:
    await run(ActionSubmitCsat(), make_tracker(intent="csat_rating", text="5",
                                               sender_id="conv-n"))
    messages, _ = await run(ActionCsatComment(),
                            make_tracker(intent=intent, text=text, sender_id="conv-n"))
    assert names(messages) == ["utter_csat_thanks"]
    assert ratings(test_store) == [("conv-n", 5, None, None, None)]


async def test_a_button_payload_is_not_a_comment(test_store: OrderStore) -> None:
    await run(ActionSubmitCsat(), make_tracker(intent="csat_rating", text="5",
                                               sender_id="conv-p"))
    await run(ActionCsatComment(), make_tracker(intent="affirm", text="/affirm",
                                                sender_id="conv-p"))
    assert ratings(test_store)[0][2] is None


# --- out of context -----------------------------------------------------------------------------


@pytest.mark.parametrize(("intent", "response"), [
    ("affirm", "utter_out_of_context_affirm"),
    ("deny", "utter_out_of_context_deny"),
    ("csat_rating", "utter_out_of_context_rating"),
    ("csat_skip", "utter_out_of_context_deny"),
    ("greet", "utter_anything_else"),
])
async def test_out_of_context_replies(test_store: OrderStore, intent: str,
                                      response: str) -> None:
    messages, events = await run(ActionOutOfContext(), make_tracker(intent=intent, text="5"))
    assert names(messages) == [response] and events == []
    assert ratings(test_store) == []  # a rating nobody asked for is not stored
