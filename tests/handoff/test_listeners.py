"""The Slack-side handoff listeners on bad and edge input: a real store, the fake Slack Web API
and a stand-in Rasa HTTP API (the real one runs in test_handoff_e2e.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import Mock

import pytest

from bot.listeners.handoff.relay import end_handoff_button, relay_agent_reply
from handoff.relay import HandoffSettings, RasaConversations
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import interactions, make_store
from tests.handoff.test_relay import _FakeRasa, fake_rasa  # noqa: F401 (fixture)

CHANNEL = "CHANDOFF"


@pytest.fixture()
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path, monkeypatch)


def settings(slack: FakeSlackApi, rasa_url: str, attempts: int = 3) -> HandoffSettings:
    return HandoffSettings(channel=CHANNEL, bot_token="xoxb-test", slack_api_url=slack.url,
                           rasa_url=rasa_url, delivery_attempts=attempts, retry_seconds=0.01)


def open_handoff(crm: OrderStore, thread_ts: str = "1700000000.000001") -> Any:
    case = crm.open_case(subject="Chat handoff", channel="chat", conversation_id="conv-7",
                         status="handoff")
    crm.attach_slack_thread(case.id, CHANNEL, thread_ts)
    return case


def reply(text: str, thread_ts: str = "1700000000.000001") -> dict[str, Any]:
    return {"type": "message", "channel": CHANNEL, "user": "UAGENT", "text": text,
            "ts": "1700000100.000001", "thread_ts": thread_ts}


def test_agent_reply_is_triggered_in_the_conversation_and_recorded(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str) -> None:  # noqa: F811
    open_handoff(crm)
    assert relay_agent_reply(reply("  Hej Anna!  "), settings(slack, fake_rasa))
    path, body = _FakeRasa.received[0]
    assert path.startswith("/conversations/conv-7/trigger_intent?output_channel=latest")
    assert body["entities"] == {"agent_message": "Hej Anna!"}
    assert interactions(crm, "conv-7") == [("out", "Hej Anna!")]


def test_reply_in_an_unknown_or_closed_thread_is_ignored(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str) -> None:  # noqa: F811
    case = open_handoff(crm)
    assert not relay_agent_reply(reply("hello", thread_ts="999.1"), settings(slack, fake_rasa))
    crm.close_case(case.id, "resolved in chat")
    assert not relay_agent_reply(reply("hello"), settings(slack, fake_rasa))
    assert _FakeRasa.received == [] and slack.posts() == []


def test_rasa_down_tells_the_agent_and_records_nothing(crm: OrderStore,
                                                       slack: FakeSlackApi) -> None:
    open_handoff(crm)
    assert not relay_agent_reply(reply("hello"), settings(slack, "http://127.0.0.1:9", 2))
    notice = slack.posts(channel=CHANNEL, thread_ts="1700000000.000001")[0]
    assert "did not reach the customer" in notice["text"]
    assert "Error" not in notice["text"] and "Traceback" not in notice["text"]
    assert interactions(crm, "conv-7") == []


def button(case_id: Any, action_id: str = "handoff_resolve") -> dict[str, Any]:
    return {"type": "block_actions", "user": {"id": "UAGENT"}, "channel": {"id": CHANNEL},
            "message": {"ts": "1700000000.000001", "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": "transcript"}},
                {"type": "actions", "elements": []}]},
            "actions": [{"action_id": action_id, "value": str(case_id)}]}


def test_end_button_closes_the_case_hands_back_and_updates_the_post(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str) -> None:  # noqa: F811
    case = open_handoff(crm)
    ack = Mock()
    assert end_handoff_button(ack, button(case.id, "handoff_unresolved"),
                              settings(slack, fake_rasa))
    ack.assert_called_once()
    closed = crm.get_case(case.id)
    assert closed is not None and closed.status == "closed"
    assert "follow up by e-mail" in str(closed.resolution) and "UAGENT" in str(closed.resolution)
    assert _FakeRasa.received[0][1]["name"] == "EXTERNAL_handoff_closed"
    update = slack.calls_to("chat.update")[0]
    assert [b["type"] for b in update["blocks"]] == ["section", "section"]
    assert "Handoff ended" in str(update["blocks"])
    # a second press (two agents, or a retried request) closes nothing twice
    assert end_handoff_button(Mock(), button(case.id), settings(slack, fake_rasa))
    assert len(_FakeRasa.received) == 1


@pytest.mark.parametrize("value", ["", "abc", "1; DROP TABLE support_cases", "9" * 40])
def test_end_button_with_a_bad_case_id_is_acked_and_changes_nothing(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str, value: str) -> None:  # noqa: F811
    case = open_handoff(crm)
    ack = Mock()
    assert not end_handoff_button(ack, button(value), settings(slack, fake_rasa))
    ack.assert_called_once()
    still = crm.get_case(case.id)
    assert still is not None and still.status == "handoff"
    assert _FakeRasa.received == []


def test_end_button_for_a_missing_case_says_so(crm: OrderStore, slack: FakeSlackApi,
                                               fake_rasa: str) -> None:  # noqa: F811
    assert not end_handoff_button(Mock(), button(4242), settings(slack, fake_rasa))
    assert slack.posts()[0]["text"] == "That case no longer exists."


def test_rasa_conversations_uses_the_token_when_set(fake_rasa: str) -> None:  # noqa: F811
    rasa = RasaConversations(HandoffSettings(rasa_url=fake_rasa, rasa_token="s3cret"))
    rasa.trigger("c1", "EXTERNAL_handoff_closed")
    assert "token=s3cret" in _FakeRasa.received[0][0]


def test_store_unavailable_tells_the_agent(tmp_path: Path, slack: FakeSlackApi,
                                           monkeypatch: pytest.MonkeyPatch,
                                           fake_rasa: str) -> None:  # noqa: F811
    import store

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        assert not relay_agent_reply(reply("hello"), settings(slack, fake_rasa))
        assert not end_handoff_button(Mock(), button(1), settings(slack, fake_rasa))
    finally:
        store.get_store.cache_clear()
    notices = [p["text"] for p in slack.posts(channel=CHANNEL)]
    assert len(notices) == 2 and all("store is unavailable" in n for n in notices)
    assert _FakeRasa.received == []


class _SlowFirstRasa:
    """A Rasa stand-in that takes its time over the first reply it is given."""

    def __init__(self) -> None:
        self.delivered: list[str] = []
        self.first_started = threading.Event()

    def trigger(self, conversation_id: str, intent: str, entities: dict[str, str]) -> None:
        text = entities["agent_message"]
        if not self.delivered and not self.first_started.is_set():
            self.first_started.set()
            time.sleep(0.5)
        self.delivered.append(text)


def test_two_quick_replies_in_one_thread_reach_the_customer_in_order(
        crm: OrderStore, slack: FakeSlackApi, fake_rasa: str) -> None:  # noqa: F811
    # Bolt runs each event's listener on its own thread: the second reply must wait for the
    # first, slower one, not overtake it
    open_handoff(crm)
    rasa = _SlowFirstRasa()
    config = settings(slack, fake_rasa)
    first = threading.Thread(target=relay_agent_reply,
                             args=(reply("First, let me check."), config, rasa))
    first.start()
    assert rasa.first_started.wait(10)
    assert relay_agent_reply(reply("Found it: it ships today."), config, rasa)  # type: ignore[arg-type]
    first.join(10)
    assert rasa.delivered == ["First, let me check.", "Found it: it ships today."]
