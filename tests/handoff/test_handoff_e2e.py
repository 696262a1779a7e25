"""Handoff end to end: the real Rasa server and action server on loopback, a real SQLite store,
the real Bolt app with the handoff listeners, a socket.io client doing what the widget does, and
the local fake Slack Web API.

customer -> Slack thread -> agent reply -> customer's widget -> handoff closed -> CSAT stored;
and a restart of the Rasa server in the middle of a handoff loses neither state nor messages.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.listeners import handoff as handoff_listeners
from handoff.relay import HandoffSettings
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi as FakeSlack
from tests.handoff.stack import Stack, WidgetClient
from tests.handoff.store_fixture import csat_rows, customer_id, interactions, make_store

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHANNEL = "CHANDOFF"
SECRET = "test-signing-secret"


# One stack for the module (starting Rasa takes a while on two shared cores); each test holds
# its own conversation.
@pytest.fixture(scope="module")
def env_patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory,
        env_patch: pytest.MonkeyPatch) -> OrderStore:
    return make_store(tmp_path_factory.mktemp("handoff-store"), env_patch)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, crm: OrderStore, slack: FakeSlack,
          env_patch: pytest.MonkeyPatch) -> Iterator[Stack]:
    env = {"DATABASE_URL": str(crm.engine.url), "SLACK_API_URL": slack.url,
           "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_HANDOFF_CHANNEL": CHANNEL,
           "KB_URL": "http://127.0.0.1:9", "HANDOFF_RETRY_MS": "300",
           "HANDOFF_DELIVERY_ATTEMPTS": "400"}
    running = Stack.create(tmp_path_factory.mktemp("handoff-stack"), env)
    for name, value in running.env.items():
        if name in env or name in ("RASA_URL", "RASA_PORT", "RASA_TOKEN"):
            env_patch.setenv(name, value)
    try:
        running.start_actions()
        running.start_rasa()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="module")
def bolt(stack: Stack, slack: FakeSlack) -> App:
    """The real Bolt app, with the handoff listeners, talking to the fake Web API."""
    app = App(signing_secret=SECRET, client=WebClient(token="xoxb-test", base_url=slack.url))
    handoff_listeners.register(app, HandoffSettings.from_env())
    return app


@pytest.fixture()
async def widget(stack: Stack) -> AsyncIterator[WidgetClient]:
    client = WidgetClient(stack.rasa_url, session_id=uuid.uuid4().hex)
    await client.connect()
    yield client
    await client.disconnect()


def signed(body: str, content_type: str) -> BoltRequest:
    timestamp = str(int(time.time()))
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(SECRET.encode(), base, hashlib.sha256).hexdigest()
    return BoltRequest(body=body, headers={
        "content-type": [content_type], "x-slack-request-timestamp": [timestamp],
        "x-slack-signature": [signature]})


def agent_reply(app: App, thread_ts: str, text: str) -> int:
    event = {"type": "message", "channel": CHANNEL, "user": "UAGENT", "text": text,
             "ts": f"{time.time():.6f}", "thread_ts": thread_ts, "channel_type": "channel"}
    body = json.dumps({"type": "event_callback", "team_id": "T1", "api_app_id": "A1",
                       "event": event, "event_id": f"Ev{uuid.uuid4().hex[:10]}",
                       "event_time": int(time.time())})
    return app.dispatch(signed(body, "application/json")).status


def end_button(app: App, thread_ts: str, case_id: int, root_blocks: list[Any]) -> int:
    payload = {"type": "block_actions", "user": {"id": "UAGENT"}, "team": {"id": "T1"},
               "api_app_id": "A1", "trigger_id": "1.2.3", "channel": {"id": CHANNEL},
               "container": {"type": "message", "message_ts": thread_ts},
               "message": {"ts": thread_ts, "blocks": root_blocks},
               "actions": [{"action_id": "handoff_resolve", "block_id": f"handoff_close_{case_id}",
                            "value": str(case_id), "type": "button",
                            "action_ts": f"{time.time():.6f}"}]}
    body = urlencode({"payload": json.dumps(payload)})
    return app.dispatch(signed(body, "application/x-www-form-urlencoded")).status


async def wait_for_bot_text(stack: Stack, conversation_id: str, text: str,
                            timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        tracker = await asyncio.to_thread(stack.tracker, conversation_id)
        if text in [e.get("text") for e in tracker["events"] if e.get("event") == "bot"]:
            return tracker
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never reached conversation {conversation_id}")
        await asyncio.sleep(0.5)


def texts(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("text", "")) for m in messages]


async def start_handoff(widget: WidgetClient, slack: FakeSlack,
                        crm: OrderStore) -> tuple[Any, dict[str, Any]]:
    await widget.say("I want to talk to a person")
    said = await widget.messages_until(lambda m: "colleague" in str(m.get("text", "")))
    assert any("case #" in t for t in texts(said))
    case = crm.find_open_handoff(widget.session_id)
    assert case is not None and case.status == "handoff"
    assert case.slack_channel == CHANNEL and case.slack_thread_ts
    roots = [p for p in slack.posts(channel=CHANNEL) if "thread_ts" not in p
             and str(p.get("text", "")).startswith(f"Chat handoff: case #{case.id} ")]
    assert len(roots) == 1
    root = roots[0]
    return case, root


async def test_handoff_round_trip_to_csat(stack: Stack, slack: FakeSlack, crm: OrderStore,
                                          bolt: App, widget: WidgetClient) -> None:
    case, root = await start_handoff(widget, slack, crm)
    assert "I want to talk to a person" in json.dumps(root["blocks"])
    thread = str(case.slack_thread_ts)

    # customer -> Slack thread, and the bot stays quiet
    await widget.say("My lamp arrived broken, what now?")
    forwarded = await asyncio.to_thread(slack.wait_for_post, 30.0, thread_ts=thread)
    assert forwarded["text"] == "Customer: My lamp arrived broken, what now?"
    assert await widget.quiet_for(2.0) == []

    # agent reply in the thread -> the customer's widget
    assert await asyncio.to_thread(agent_reply, bolt, thread, "Hi, Anna here. Sorry!") == 200
    said = await widget.messages_until(lambda m: m.get("text") == "Hi, Anna here. Sorry!")
    assert texts(said) == ["Hi, Anna here. Sorry!"]

    # the agent ends the handoff -> the bot is back and asks for a rating
    assert await asyncio.to_thread(end_button, bolt, thread, case.id, root["blocks"]) == 200
    said = await widget.messages_until(lambda m: bool(m.get("quick_replies") or m.get("buttons")))
    assert any("back to help" in t for t in texts(said))
    closed = crm.get_case(case.id)
    assert closed is not None and closed.status == "closed"
    assert "resolved in chat" in str(closed.resolution)
    assert crm.find_open_handoff(widget.session_id) is None
    update = (await asyncio.to_thread(slack.wait_for, "chat.update", 30.0))[-1]
    assert "Handoff ended" in json.dumps(update) and "case #" in json.dumps(update)
    assert '"type": "actions"' not in json.dumps(update["blocks"])  # the buttons are gone

    # CSAT: a rating and a comment, stored against the conversation and the case
    await widget.say('/csat_rating{"csat_rating": "5"}')
    await widget.messages_until(lambda m: "tell us" in str(m.get("text", "")))
    await widget.say("Anna was quick and kind")
    await widget.messages_until(lambda m: "feedback" in str(m.get("text", "")))
    rows = [r for r in csat_rows(crm) if r.conversation_id == widget.session_id]
    assert [(r.conversation_id, r.rating, r.comment, r.case_id) for r in rows] == [
        (widget.session_id, 5, "Anna was quick and kind", case.id)]

    # the bot answers again (nothing goes to the thread any more)
    posts_before = len(slack.posts(thread_ts=thread))
    await widget.say("hello")
    assert await widget.messages_until(lambda m: bool(m.get("text")))
    assert len(slack.posts(thread_ts=thread)) == posts_before
    assert ("in", "My lamp arrived broken, what now?") in interactions(crm, widget.session_id)
    assert ("out", "Hi, Anna here. Sorry!") in interactions(crm, widget.session_id)


async def test_rasa_restart_mid_handoff_loses_no_state_and_no_message(
        stack: Stack, slack: FakeSlack, crm: OrderStore, bolt: App,
        widget: WidgetClient) -> None:
    case, _ = await start_handoff(widget, slack, crm)
    thread = str(case.slack_thread_ts)
    await widget.say("Are you there?")
    await asyncio.to_thread(slack.wait_for_post, 30.0, thread_ts=thread,
                            text="Customer: Are you there?")

    # the Rasa server goes away; the agent answers meanwhile
    await widget.disconnect()
    await asyncio.to_thread(stack.stop, "rasa")
    assert await asyncio.to_thread(agent_reply, bolt, thread, "Yes! Looking at it now.") == 200
    await asyncio.sleep(1.5)
    # not delivered yet, and not dropped: the relay keeps retrying while Rasa is down
    assert ("out", "Yes! Looking at it now.") not in interactions(crm, widget.session_id)
    await asyncio.to_thread(stack.start_rasa)

    # the agent's reply made it into the conversation, the handoff is still on
    tracker = await wait_for_bot_text(stack, widget.session_id, "Yes! Looking at it now.")
    assert tracker["slots"]["handoff_active"] is True
    user_texts = [e.get("text") for e in tracker["events"] if e.get("event") == "user"]
    assert "I want to talk to a person" in user_texts and "Are you there?" in user_texts

    # the widget reconnects with its session id: it is shown the agent's reply it missed
    # (rasa_addons.replay), once, and both directions still work
    await widget.connect()
    missed = await widget.messages_until(lambda m: m.get("text") == "Yes! Looking at it now.")
    assert [m.get("text") for m in missed] == ["Yes! Looking at it now."]
    await widget.say("Great, thanks")
    await asyncio.to_thread(slack.wait_for_post, 30.0, thread_ts=thread,
                            text="Customer: Great, thanks")
    assert await widget.quiet_for(2.0) == []
    assert await asyncio.to_thread(agent_reply, bolt, thread, "A new lamp ships today.") == 200
    said = await widget.messages_until(lambda m: m.get("text") == "A new lamp ships today.")
    assert said[-1]["text"] == "A new lamp ships today."
    assert customer_id(crm) is not None
