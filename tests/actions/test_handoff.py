"""The handoff actions against a real SQLite store and the local fake Slack Web API."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, UserUtteranceReverted

import store
from actions.handoff import (
    ActionCoreFallback,
    ActionForwardToAgent,
    ActionHandoffEnd,
    ActionHandoffToHuman,
    ActionRelayAgentMessage,
    handoff_reason,
)
from handoff import service
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.fakes.slack_api import FakeSlackApi
from tests.support.store import ANNA, ORDERS, count_cases, interactions
from tests.support.trackers import bot_event, make_tracker, slot_event, user_event

CHANNEL = "CHANDOFF"
CONVERSATION = "conv-handoff"
DELIVERED = ORDERS["delivered"].number


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", CHANNEL)
    monkeypatch.setenv("KB_URL", closed_url())  # no knowledge suggestions
    yield fake
    fake.stop()


@pytest.fixture()
def on_duty(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Agents on duty (True) or not; the opening hours themselves are tested in test_relay."""
    state = [True]
    seen: list[datetime] = []

    def fake(now: datetime) -> bool:
        seen.append(now)
        assert now.tzinfo is not None
        return state[0]

    monkeypatch.setattr(service, "agents_on_duty", fake)
    return state


def closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def asking(intent: str = "request_human", text: str = "I want to talk to a person", *,
           slots: dict[str, Any] | None = None, **kwargs: Any) -> Tracker:
    history = [user_event("my lamp arrived broken", "out_of_scope"),
               bot_event("utter_kb_no_answer", "Sorry, I couldn't find an answer.")]
    return make_tracker(intent=intent, text=text, slots=slots, sender_id=CONVERSATION,
                        history=kwargs.pop("history", history), **kwargs)


def in_hand(crm: OrderStore, situation: str) -> dict[str, Any]:
    number = ORDERS[situation].number
    return {"verified_order": number,
            "verified_customer": float(crm.customer_id_for_order(number) or 0)}


def post_text(slack: FakeSlackApi) -> str:
    posts = slack.posts(channel=CHANNEL)
    assert len(posts) == 1, posts
    return json.dumps(posts[0]["blocks"], ensure_ascii=False) + " " + str(posts[0]["text"])


# --- starting -----------------------------------------------------------------------------------


async def test_a_request_opens_a_case_posts_it_and_tells_the_wait(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDOFF_EXPECTED_WAIT_MINUTES", "7")
    messages, events = await run(ActionHandoffToHuman(),
                                 asking(slots={"language": "sv", **in_hand(test_store,
                                                                           "in_transit")}))
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None and case.status == "handoff"
    assert case.subject == "Chat handoff: the customer asked for a person"
    assert case.order_number == ORDERS["in_transit"].number and case.customer_id is not None
    assert case.slack_channel == CHANNEL and case.slack_thread_ts is not None
    assert names(messages) == ["utter_handoff_started"]
    assert messages[0]["case_id"] == case.id and messages[0]["minutes"] == 7
    assert slots_of(events) == {"requested_slot": None, "handoff_active": True,
                                "handoff_case_id": case.id}
    assert ActiveLoop(None) in events
    text = post_text(slack)
    assert "Anna Berg" in text and ORDERS["in_transit"].number in text
    assert "the customer asked for a person" in text
    assert "my lamp arrived broken" in text  # the transcript
    assert "Swedish (sv)" in text and "the customer writes Swedish" in text
    assert "knowledge index unavailable" in text


async def test_outside_opening_hours_the_offline_reply(test_store: OrderStore,
                                                        slack: FakeSlackApi,
                                                        on_duty: list[bool]) -> None:
    on_duty[0] = False
    messages, events = await run(ActionHandoffToHuman(), asking())
    assert names(messages) == ["utter_handoff_started_offline"]
    assert "minutes" not in messages[0]
    assert slots_of(events)["handoff_active"] is True


async def test_an_unverified_customer_is_not_named(test_store: OrderStore, slack: FakeSlackApi,
                                                   on_duty: list[bool]) -> None:
    await run(ActionHandoffToHuman(), asking("complaint", "this is outrageous"))
    text = post_text(slack)
    assert "not verified" in text and "Anna Berg" not in text
    assert "English (en)" in text
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None and case.customer_id is None and case.order_number is None
    assert case.subject == "Chat handoff: complaint"


@pytest.mark.parametrize(("offer_reason", "subject"), [
    ("verification_locked", "the order could not be verified; the customer accepted a person"),
    ("knowledge_unavailable", "the help articles could not be searched"),
    ("not_understood", "the bot could not answer the customer's question"),
    (None, "the bot could not answer the customer's question"),
])
async def test_a_person_accepted_after_an_offer_keeps_the_offers_reason(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool],
        offer_reason: str | None, subject: str) -> None:
    tracker = asking("affirm", "yes please", slots={"pending_question": "human_offer",
                                                    "human_offer_reason": offer_reason})
    assert handoff_reason(tracker) == (offer_reason or "not_understood")
    await run(ActionHandoffToHuman(), tracker)
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None and case.subject == f"Chat handoff: {subject}"
    assert subject in post_text(slack)


def test_yes_without_an_offer_is_not_an_offers_reason() -> None:
    tracker = asking("affirm", "yes", slots={"pending_question": "kb_helpful",
                                             "human_offer_reason": "verification_locked"})
    assert handoff_reason(tracker) == "requested"
    assert handoff_reason(asking("complaint", "awful")) == "complaint"


async def test_the_conversations_open_return_case_is_handed_off_not_duplicated(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool]) -> None:
    slots = in_hand(test_store, "delivered")
    started = test_store.start_return(DELIVERED, customer_id=int(slots["verified_customer"]),
                                      reason="damaged", conversation_id=CONVERSATION,
                                      channel="chat")
    assert started.outcome == "created" and started.case_id is not None
    cases = count_cases(test_store)
    messages, events = await run(ActionHandoffToHuman(), asking(slots=slots))
    assert count_cases(test_store) == cases
    case = test_store.get_case(started.case_id)
    assert case is not None and case.status == "handoff"
    assert case.subject == (f"Return of order {DELIVERED}; handed off: "
                            "the customer asked for a person")
    assert case.slack_thread_ts is not None
    assert messages[0]["case_id"] == started.case_id
    assert slots_of(events)["handoff_case_id"] == started.case_id


async def test_a_second_request_is_already_active(test_store: OrderStore, slack: FakeSlackApi,
                                                  on_duty: list[bool]) -> None:
    await run(ActionHandoffToHuman(), asking())
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None
    messages, events = await run(ActionHandoffToHuman(), asking(text="hello??"))
    assert names(messages) == ["utter_handoff_already_active"]
    assert messages[0]["case_id"] == case.id
    assert slots_of(events)["handoff_active"] is True
    assert len(slack.posts(channel=CHANNEL)) == 1 and count_cases(test_store) == 1


async def test_slack_not_configured_closes_the_case_and_says_so(
        test_store: OrderStore, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", CHANNEL)
    messages, events = await run(ActionHandoffToHuman(), asking())
    assert names(messages) == ["utter_handoff_unavailable"]
    case = test_store.get_case(messages[0]["case_id"])
    assert case is not None and case.status == "closed"
    assert "not configured" in str(case.resolution)
    assert "handoff_active" not in slots_of(events)
    assert test_store.find_open_handoff(CONVERSATION) is None
    assert "SLACK_BOT_TOKEN not set" in caplog.text


@pytest.mark.parametrize("failure", ["error", "unreachable"])
async def test_slack_unavailable_closes_the_case_and_says_so(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool],
        monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    if failure == "error":
        slack.fail["chat.postMessage"] = "channel_not_found"
    else:
        monkeypatch.setenv("SLACK_API_URL", closed_url() + "/api/")
    messages, events = await run(ActionHandoffToHuman(), asking())
    assert names(messages) == ["utter_handoff_unavailable"]
    case = test_store.get_case(messages[0]["case_id"])
    assert case is not None and case.status == "closed"
    assert "Slack unavailable" in str(case.resolution)
    assert "handoff_active" not in slots_of(events)
    assert ActiveLoop(None) in events


@pytest.mark.parametrize("failure", ["not configured", "post refused"])
async def test_slack_failing_leaves_an_open_return_case_open(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool],
        monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    if failure == "not configured":
        monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    else:
        slack.fail["chat.postMessage"] = "channel_not_found"
    slots = in_hand(test_store, "delivered")
    started = test_store.start_return(DELIVERED, customer_id=int(slots["verified_customer"]),
                                      reason="damaged", conversation_id=CONVERSATION,
                                      channel="chat")
    messages, events = await run(ActionHandoffToHuman(), asking(slots=slots))
    assert names(messages) == ["utter_handoff_unavailable"]
    assert messages[0]["case_id"] == started.case_id
    case = test_store.get_case(int(started.case_id or 0))
    assert case is not None and case.status == "open"  # the return still needs its follow-up
    assert case.subject == f"Return of order {DELIVERED}" and case.slack_thread_ts is None
    assert "handoff_active" not in slots_of(events)
    # Slack back: the same case is handed off then
    slack.fail.clear()
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    messages, _ = await run(ActionHandoffToHuman(), asking(slots=slots))
    assert names(messages) == ["utter_handoff_started"]
    assert messages[0]["case_id"] == started.case_id
    handed = test_store.find_open_handoff(CONVERSATION)
    assert handed is not None and handed.id == started.case_id


async def test_the_store_down_is_said_plainly(tmp_path: Path, slack: FakeSlackApi,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        messages, events = await run(ActionHandoffToHuman(), asking())
        forwarded, _ = await run(ActionForwardToAgent(),
                                 asking("greet", "hello?", slots={"handoff_active": True}))
    finally:
        store.get_store.cache_clear()
    assert names(messages) == ["utter_store_unavailable"]
    assert "handoff_active" not in slots_of(events)
    assert names(forwarded) == ["utter_handoff_message_not_delivered"]
    assert slack.posts() == []


# --- during the handoff -------------------------------------------------------------------------


async def test_customer_messages_go_to_the_thread_and_the_bot_stays_quiet(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await run(ActionHandoffToHuman(), asking())
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None
    text = f"it's {ANNA}, the parcel never came"
    messages, events = await run(ActionForwardToAgent(),
                                 asking("faq", text, slots={"handoff_active": True}))
    assert messages == [] and events == []
    post = slack.posts(thread_ts=case.slack_thread_ts)[0]
    assert post["channel"] == CHANNEL and post["text"] == f"Customer: {text}"
    recorded = [t for d, t, _ in interactions(test_store, CONVERSATION) if d == "in"]
    assert recorded == ["it's [e-mail], the parcel never came"]
    ours = [r.getMessage() for r in caplog.records
            if r.name.split(".")[0] in ("actions", "handoff", "store", "message_catalogue",
                                        "nordvik")]
    assert ours and not any(ANNA in line for line in ours)


async def test_a_long_message_reaches_the_agent_whole_and_the_record_without_the_address(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool]) -> None:
    await run(ActionHandoffToHuman(), asking())
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None
    text = "the lamp flickers " * 110 + f"write to {ANNA} please"  # the address straddles 2000
    await run(ActionForwardToAgent(), asking("out_of_scope", text,
                                             slots={"handoff_active": True}))
    assert slack.posts(thread_ts=case.slack_thread_ts)[0]["text"] == f"Customer: {text}"
    recorded = [t for d, t, _ in interactions(test_store, CONVERSATION) if d == "in"]
    assert len(recorded) == 1 and "anna" not in recorded[0] and "@" not in recorded[0]
    assert recorded[0].endswith("write to [e-mail] please")


async def test_forward_after_the_case_was_closed_hands_back_to_the_bot(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool]) -> None:
    await run(ActionHandoffToHuman(), asking())
    case = test_store.find_open_handoff(CONVERSATION)
    assert case is not None
    test_store.close_case(case.id, "resolved in chat")
    messages, events = await run(ActionForwardToAgent(),
                                 asking("greet", "hello?", slots={"handoff_active": True}))
    assert names(messages) == ["utter_handoff_ended"]
    assert slots_of(events) == {"handoff_active": False, "handoff_case_id": None}
    assert not slack.posts(thread_ts=case.slack_thread_ts)


async def test_a_message_slack_refuses_is_said_not_delivered(
        test_store: OrderStore, slack: FakeSlackApi, on_duty: list[bool]) -> None:
    await run(ActionHandoffToHuman(), asking())
    slack.fail["chat.postMessage"] = "ratelimited"
    messages, events = await run(ActionForwardToAgent(),
                                 asking("greet", "hello?", slots={"handoff_active": True}))
    assert names(messages) == ["utter_handoff_message_not_delivered"] and events == []
    assert test_store.find_open_handoff(CONVERSATION) is not None


async def test_the_agents_reply_is_said_as_written() -> None:
    entities = [{"entity": "agent_message", "value": "Hej! Anna here, *checking* now."}]
    current = asking("EXTERNAL_agent_message", "EXTERNAL_agent_message", entities=entities)
    messages, events = await run(ActionRelayAgentMessage(), current)
    assert [m["text"] for m in messages] == ["Hej! Anna here, *checking* now."]
    assert messages[0]["response"] is None and events == []
    empty, _ = await run(ActionRelayAgentMessage(),
                         asking("EXTERNAL_agent_message", "EXTERNAL_agent_message"))
    assert empty == []


async def test_the_end_hands_back_and_keeps_the_case_for_the_rating() -> None:
    messages, events = await run(ActionHandoffEnd(), asking(
        "EXTERNAL_handoff_closed", "EXTERNAL_handoff_closed",
        slots={"handoff_active": True, "handoff_case_id": 7.0}))
    assert names(messages) == ["utter_handoff_ended"]
    assert slots_of(events) == {"handoff_active": False, "handoff_case_id": None,
                                "csat_case_id": 7.0}


# --- Rasa's core fallback -----------------------------------------------------------------------


async def test_the_core_fallback_replies_once_and_never_hands_off(
        test_store: OrderStore, slack: FakeSlackApi) -> None:
    history = [user_event("blorp", "nlu_fallback"), slot_event("pending_question", "clarify"),
               bot_event("utter_core_fallback")]
    tracker = asking("nlu_fallback", "zzz", history=history)
    messages, events = await run(ActionCoreFallback(), tracker)
    assert names(messages) == ["utter_core_fallback"]
    assert events == [UserUtteranceReverted()]
    assert slack.methods() == [] and count_cases(test_store) == 0
