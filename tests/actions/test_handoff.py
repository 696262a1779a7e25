"""The handoff actions against a real SQLite store and the local fake Slack Web API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import (
    ActionDefaultFallback,
    ActionForwardToAgent,
    ActionHandoffEnd,
    ActionHandoffToHuman,
    ActionRelayAgentMessage,
)
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi as FakeSlack
from tests.handoff.store_fixture import CUSTOMER_NAME, ORDER_NUMBER, interactions, make_store

CHANNEL = "CHANDOFF"


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    monkeypatch.setenv("SLACK_API_URL", fake.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", CHANNEL)
    monkeypatch.setenv("KB_URL", "http://127.0.0.1:9")  # nothing listens: index unavailable
    yield fake
    fake.stop()


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path, monkeypatch)


def tracker(intent: str, text: str, *, slots: dict[str, Any] | None = None,
            entities: list[dict[str, Any]] | None = None,
            events: list[dict[str, Any]] | None = None, sender: str = "conv-1") -> Tracker:
    latest = {"intent": {"name": intent, "confidence": 1.0}, "text": text,
              "entities": entities or []}
    history = events if events is not None else [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}},
        {"event": "bot", "text": "Hi, welcome to Nordvik Home!"},
        {"event": "user", "text": text, "parse_data": latest},
    ]
    return Tracker(sender, slots or {}, latest, history, False, None, {}, "action_listen")


async def run(action: Any, current: Tracker) -> tuple[list[dict[str, Any]], list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, current, {})
    return dispatcher.messages, events


async def test_handoff_opens_case_posts_to_slack_and_tells_the_customer(
        crm: OrderStore, slack: FakeSlack) -> None:
    messages, events = await run(
        ActionHandoffToHuman(),
        tracker("request_human", "I want to talk to a person",
                slots={"verified_order": ORDER_NUMBER}),
    )
    case = crm.find_open_handoff("conv-1")
    assert case is not None and case.status == "handoff"
    assert case.order_number == ORDER_NUMBER and case.customer_id is not None
    post = slack.posts(channel=CHANNEL)[0]
    assert case.slack_channel == CHANNEL and case.slack_thread_ts is not None
    blocks = str(post["blocks"])
    assert CUSTOMER_NAME in blocks and ORDER_NUMBER in blocks and "in_transit" in blocks
    assert "I want to talk to a person" in blocks and "the customer asked for a person" in blocks
    assert "knowledge index unavailable" in blocks
    assert [m["response"] for m in messages] == ["utter_handoff_started"]
    assert messages[0]["case_id"] == case.id and "wait" in messages[0]
    assert SlotSet("handoff_active", True) in events
    assert SlotSet("handoff_case_id", case.id) in events
    assert ActiveLoop(None) in events


async def test_unverified_customer_is_not_named(crm: OrderStore, slack: FakeSlack) -> None:
    await run(ActionHandoffToHuman(), tracker("complaint", "this is outrageous"))
    blocks = str(slack.posts(channel=CHANNEL)[0]["blocks"])
    assert "not verified" in blocks and CUSTOMER_NAME not in blocks
    case = crm.find_open_handoff("conv-1")
    assert case is not None and case.customer_id is None and case.order_number is None


async def test_a_second_request_does_not_open_a_second_case(crm: OrderStore,
                                                            slack: FakeSlack) -> None:
    await run(ActionHandoffToHuman(), tracker("request_human", "a person please"))
    messages, events = await run(ActionHandoffToHuman(), tracker("request_human", "hello??"))
    assert [m["response"] for m in messages] == ["utter_handoff_already_active"]
    assert len(slack.posts(channel=CHANNEL)) == 1


async def test_exhausted_two_stage_fallback_hands_off(crm: OrderStore, slack: FakeSlack) -> None:
    messages, events = await run(ActionDefaultFallback(), tracker("nlu_fallback", "blorp zzz"))
    assert ActionDefaultFallback().name() == "action_default_fallback"
    assert "did not understand the customer twice" in str(slack.posts(channel=CHANNEL)[0])
    assert SlotSet("handoff_active", True) in events


async def test_slack_down_closes_the_case_and_tells_the_customer(
        crm: OrderStore, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", CHANNEL)
    monkeypatch.setenv("KB_URL", "http://127.0.0.1:9")
    messages, events = await run(ActionHandoffToHuman(), tracker("request_human", "a person"))
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]
    assert SlotSet("handoff_active", True) not in events
    assert crm.find_open_handoff("conv-1") is None
    case = crm.get_case(messages[0]["case_id"])
    assert case is not None and case.status == "closed" and "Slack unavailable" in str(
        case.resolution)


async def test_slack_not_configured_is_said_plainly(crm: OrderStore,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_HANDOFF_CHANNEL", raising=False)
    messages, _ = await run(ActionHandoffToHuman(), tracker("request_human", "a person"))
    assert [m["response"] for m in messages] == ["utter_handoff_unavailable"]


async def test_customer_messages_go_to_the_thread_and_the_bot_stays_quiet(
        crm: OrderStore, slack: FakeSlack) -> None:
    await run(ActionHandoffToHuman(), tracker("request_human", "a person please"))
    case = crm.find_open_handoff("conv-1")
    assert case is not None
    messages, events = await run(ActionForwardToAgent(),
                                 tracker("faq", "my parcel never came",
                                         slots={"handoff_active": True}))
    assert messages == [] and events == []
    post = slack.posts(thread_ts=case.slack_thread_ts)[0]
    assert post["channel"] == CHANNEL and post["text"] == "Customer: my parcel never came"
    assert ("in", "my parcel never came") in interactions(crm, "conv-1")


async def test_forward_after_the_case_was_closed_hands_back_to_the_bot(
        crm: OrderStore, slack: FakeSlack) -> None:
    await run(ActionHandoffToHuman(), tracker("request_human", "a person please"))
    case = crm.find_open_handoff("conv-1")
    assert case is not None
    crm.close_case(case.id, "resolved in chat")
    messages, events = await run(ActionForwardToAgent(),
                                 tracker("greet", "hello?", slots={"handoff_active": True}))
    assert [m["response"] for m in messages] == ["utter_handoff_ended"]
    assert SlotSet("handoff_active", False) in events
    assert not slack.posts(thread_ts=case.slack_thread_ts)


async def test_agent_message_is_said_in_the_chat() -> None:
    current = tracker("EXTERNAL_agent_message", "EXTERNAL_agent_message",
                      entities=[{"entity": "agent_message", "value": "Hej! Anna here."}])
    messages, events = await run(ActionRelayAgentMessage(), current)
    assert [m["text"] for m in messages] == ["Hej! Anna here."] and events == []
    empty, _ = await run(ActionRelayAgentMessage(),
                         tracker("EXTERNAL_agent_message", "EXTERNAL_agent_message"))
    assert empty == []


async def test_handoff_end_hands_back_and_keeps_the_case_for_csat() -> None:
    messages, events = await run(ActionHandoffEnd(),
                                 tracker("EXTERNAL_handoff_closed", "",
                                         slots={"handoff_active": True, "handoff_case_id": 7.0}))
    assert [m["response"] for m in messages] == ["utter_handoff_ended"]
    assert SlotSet("handoff_active", False) in events and SlotSet("csat_case_id", 7.0) in events


async def test_store_unavailable_is_said_plainly(tmp_path: Path, slack: FakeSlack,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import store

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        messages, events = await run(ActionHandoffToHuman(), tracker("request_human", "a person"))
        forwarded, _ = await run(ActionForwardToAgent(),
                                 tracker("greet", "hello?", slots={"handoff_active": True}))
    finally:
        store.get_store.cache_clear()
    assert [m["response"] for m in messages] == ["utter_store_unavailable"]
    assert SlotSet("handoff_active", True) not in events
    assert [m["response"] for m in forwarded] == ["utter_handoff_message_not_delivered"]
    assert slack.posts() == []
