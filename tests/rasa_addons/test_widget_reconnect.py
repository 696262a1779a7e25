"""A widget disconnected during a handoff gets both agent replies sent meanwhile when it
reconnects: the real Rasa server (socket.io channel with rasa_addons.replay), the real action
server and store, the Slack app's handoff listeners against the fake Web API, and a socket.io
client that does on the wire what rasa-webchat does. Each reply is stored once in the tracker
and shown once."""

from __future__ import annotations

import asyncio

import pytest
from slack_bolt import App

from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi as FakeSlack
from tests.handoff.stack import Stack, WidgetClient
from tests.handoff.test_handoff_e2e import (  # noqa: F401 - module fixtures, used by name
    agent_reply,
    bolt,
    crm,
    env_patch,
    slack,
    stack,
    start_handoff,
    texts,
    wait_for_bot_text,
    widget,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

AWAY = ("First reply while you were away.", "Second reply while you were away.")


async def test_widget_away_for_two_agent_replies_shows_both(
        stack: Stack, slack: FakeSlack, crm: OrderStore, bolt: App,  # noqa: F811
        widget: WidgetClient) -> None:  # noqa: F811
    case, _ = await start_handoff(widget, slack, crm)
    thread = str(case.slack_thread_ts)

    await widget.disconnect()  # a reload, a lost network
    for reply in AWAY:
        assert await asyncio.to_thread(agent_reply, bolt, thread, reply) == 200
    tracker = await wait_for_bot_text(stack, widget.session_id, AWAY[1])
    shown = [e.get("text") for e in tracker["events"] if e.get("event") == "bot"]
    assert [t for t in shown if t in AWAY] == list(AWAY)  # both delivered, in the agent's order

    await widget.connect()  # the same session id, as rasa-webchat reconnects
    said = await widget.messages_until(lambda m: m.get("text") == AWAY[1], timeout=30)
    assert [t for t in texts(said) if t in AWAY] == list(AWAY)

    # shown once: another reconnect replays nothing
    await widget.disconnect()
    await widget.connect()
    assert await widget.quiet_for(2.0) == []

    # stored once: each agent reply is one bot event after one EXTERNAL_agent_message
    tracker = await asyncio.to_thread(stack.tracker, widget.session_id)
    bot_texts = [e.get("text") for e in tracker["events"] if e.get("event") == "bot"]
    assert [bot_texts.count(reply) for reply in AWAY] == [1, 1]
    agent_turns = [e for e in tracker["events"] if e.get("event") == "user"
                   and (e.get("parse_data") or {}).get("intent", {}).get("name")
                   == "EXTERNAL_agent_message"]
    assert len(agent_turns) == len(AWAY)
