"""Listeners as plain functions with mocked ack, respond and client."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import MagicMock, Mock

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.listeners.actions import post_reply, vote
from bot.listeners.assistant import answer_message, previous_question, start_thread
from bot.listeners.commands import order_command, suggest_command
from bot.listeners.events import mention_suggest
from bot.listeners.middleware import ignore_retried_events
from bot.listeners.views import ack_modal
from bot.orders import is_agent
from bot.services import EventDedupe, Services, configure
from bot.settings import SlackSettings
from bot.suggest import clean_query, combine_queries
from kb_index.errors import KnowledgeUnavailable
from kb_index.feedback import FeedbackStore
from tests.bot.conftest import AGENT, AGENT_CHANNEL, AGENT_GROUP, OUTSIDER, FakeKnowledge, hit

REPO = Path(__file__).resolve().parents[2]


def _slack_error(method: str) -> SlackApiError:
    response = SlackResponse(client=None, http_verb="POST", api_url=method, req_args={},
                             data={"ok": False, "error": "not_in_channel"}, headers={},
                             status_code=200)
    return SlackApiError("failed", response)


@pytest.fixture()
def knowledge() -> FakeKnowledge:
    return FakeKnowledge([hit(), hit("returns-policy", 0.5), hit("low", 0.1)])


@pytest.fixture()
def unit_services(settings: SlackSettings, knowledge: FakeKnowledge,
                  feedback: FeedbackStore) -> Iterator[Services]:
    svc = Services(settings, knowledge=knowledge, feedback=feedback)
    configure(svc)
    yield svc
    configure(None)


def test_suggest_command_searches_public_and_internal(unit_services: Services,
                                                      knowledge: FakeKnowledge) -> None:
    respond = Mock()
    suggest_command({"text": "delivery <@U1> to Norway?", "channel_id": "C1"}, respond, Mock())
    assert knowledge.queries == [("delivery to Norway?", ("public", "internal"))]
    kwargs = respond.call_args.kwargs
    assert kwargs["response_type"] == "ephemeral"
    text = json.dumps(kwargs["blocks"])
    assert "shipping-norway" in text and "returns-policy" in text and "low" not in text


def test_suggest_command_index_down_says_so(unit_services: Services, knowledge: FakeKnowledge,
                                            caplog: pytest.LogCaptureFixture) -> None:
    knowledge.error = KnowledgeUnavailable("kb serve unreachable at http://x")
    respond = Mock()
    with caplog.at_level(logging.ERROR):
        suggest_command({"text": "delivery"}, respond, Mock())
    assert "knowledge base is unavailable" in respond.call_args.kwargs["text"]
    assert "unreachable" not in json.dumps(respond.call_args.kwargs)
    assert any(r.exc_info for r in caplog.records)


def test_suggest_command_empty_opens_modal_or_explains(unit_services: Services) -> None:
    client = Mock(spec=WebClient)
    suggest_command({"text": "", "trigger_id": "t1", "channel_id": "C1"}, Mock(), client)
    assert client.views_open.call_args.kwargs["trigger_id"] == "t1"
    client.views_open.side_effect = _slack_error("views.open")
    respond = Mock()
    suggest_command({"text": "", "trigger_id": "expired"}, respond, client)
    assert "customer's question" in respond.call_args.kwargs["text"]


def test_order_command_refuses_outsiders(unit_services: Services,
                                         caplog: pytest.LogCaptureFixture) -> None:
    client = Mock(spec=WebClient)
    client.usergroups_users_list.return_value = {"users": [AGENT]}
    client.conversations_members.return_value = {"members": [AGENT],
                                                 "response_metadata": {"next_cursor": ""}}
    respond = Mock()
    with caplog.at_level(logging.WARNING):
        order_command({"user_id": OUTSIDER, "channel_id": "CRANDOM", "text": "A10001"},
                      respond, client)
    assert "only for support agents" in respond.call_args.kwargs["text"]
    assert OUTSIDER in caplog.text


def test_is_agent_rules(settings: SlackSettings) -> None:
    client = Mock(spec=WebClient)
    client.usergroups_users_list.return_value = {"users": ["UG"]}
    client.conversations_members.side_effect = [
        {"members": ["U1"], "response_metadata": {"next_cursor": "next"}},
        {"members": ["UC"], "response_metadata": {"next_cursor": ""}},
    ]
    assert is_agent(client, settings, "UANY", AGENT_CHANNEL)  # asked in an agents' channel
    assert is_agent(client, settings, "UG", "C1")
    assert is_agent(client, settings, "UC", "C1")  # found on the second page
    assert client.usergroups_users_list.call_args.kwargs["usergroup"] == AGENT_GROUP
    assert not is_agent(client, settings, "", "C1")
    client.usergroups_users_list.side_effect = _slack_error("usergroups.users.list")
    client.conversations_members.side_effect = _slack_error("conversations.members")
    assert not is_agent(client, settings, "UG", "C1")  # cannot verify: refuse
    assert not is_agent(client, SlackSettings(), "UG", "C1")  # nothing configured: refuse


def test_vote_and_post_reply(unit_services: Services, feedback: FeedbackStore) -> None:
    ack, respond = Mock(), Mock()
    value = json.dumps({"a": "returns-policy", "q": "return?", "s": "slack_command"})
    vote(ack, {"user": {"id": AGENT}}, {"action_id": "suggestion_not_helpful", "value": value},
         respond)
    ack.assert_called_once()
    assert [(v.article_id, v.not_helpful) for v in feedback.votes()] == [("returns-policy", 1)]
    client = Mock(spec=WebClient)
    client.chat_postMessage.side_effect = _slack_error("chat.postMessage")
    value = json.dumps({"a": "x", "c": "C1", "t": "1.1", "d": "draft"})
    post_reply(Mock(), {"user": {"id": AGENT}}, {"value": value}, respond, client)
    assert "could not post" in respond.call_args.kwargs["text"]


def test_vote_when_feedback_database_down(settings: SlackSettings, knowledge: FakeKnowledge,
                                          tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("x")
    configure(Services(settings, knowledge=knowledge,
                       feedback=FeedbackStore(f"sqlite:///{blocked}/sub/feedback.db")))
    try:
        respond = Mock()
        vote(Mock(), {"user": {"id": AGENT}},
             {"action_id": "suggestion_helpful", "value": json.dumps({"a": "x", "q": "q"})},
             respond)
    finally:
        configure(None)
    assert "feedback database is unavailable" in respond.call_args.kwargs["text"]


def test_mention_outside_a_thread_uses_its_own_text(unit_services: Services,
                                                    knowledge: FakeKnowledge) -> None:
    client = Mock(spec=WebClient)
    mention_suggest({"channel": "C1", "user": AGENT, "ts": "5.5",
                     "text": "<@UBOT> delivery to Norway?"}, client)
    client.conversations_replies.assert_not_called()
    assert knowledge.queries[0][0] == "delivery to Norway?"
    assert client.chat_postEphemeral.call_args.kwargs["thread_ts"] == "5.5"
    mention_suggest({"channel": "C1", "user": AGENT, "ts": "6.6", "text": "<@UBOT>"}, client)
    assert "Mention me in a thread" in client.chat_postEphemeral.call_args.kwargs["text"]


def test_assistant_listeners(unit_services: Services, knowledge: FakeKnowledge) -> None:
    say, prompts = Mock(), Mock()
    start_thread(say, prompts)
    assert "Paste the customer's question" in say.call_args.args[0]
    assert len(prompts.call_args.kwargs["prompts"]) == 3
    client = Mock(spec=WebClient)
    client.conversations_replies.return_value = {"messages": [
        {"ts": "1.0", "bot_id": "B", "text": "hi"}, {"ts": "1.1", "text": "return policy"},
        {"ts": "1.2", "text": "for shoes"}]}
    set_status = Mock()
    answer_message({"channel": "D1", "thread_ts": "1.0", "ts": "1.2", "text": "for shoes"},
                   client, say, set_status)
    set_status.assert_called_once()
    assert knowledge.queries[-1][0] == "return policy for shoes"
    client.conversations_replies.side_effect = _slack_error("conversations.replies")
    assert previous_question(client, "D1", "1.0", "1.2") == ""


def test_modal_ack_rejects_an_empty_question() -> None:
    ack = Mock()
    ack_modal(ack, {"state": {"values": {"question": {"question_input": {"value": "  "}}}}})
    assert ack.call_args.kwargs["response_action"] == "errors"
    ack = Mock()
    ack_modal(ack, {"state": {"values": {"question": {"question_input": {"value": "hi"}}}}})
    ack.assert_called_once_with()


def test_retry_middleware_drops_seen_events(unit_services: Services) -> None:
    request = MagicMock()
    request.headers = {"x-slack-retry-num": ["1"]}
    nxt = Mock(return_value="next")
    body = {"type": "event_callback", "event_id": "EvX"}
    assert ignore_retried_events(body, request, nxt) == "next"
    dropped = ignore_retried_events(body, request, nxt)
    assert dropped is not None and dropped.status == 200 and nxt.call_count == 1
    assert ignore_retried_events({"type": "block_actions"}, request, nxt) == "next"


def test_dedupe_expires_and_stays_bounded() -> None:
    dedupe = EventDedupe(ttl_seconds=0.0)
    assert dedupe.first_time("a") and dedupe.first_time("a")
    small = EventDedupe(ttl_seconds=60, max_size=2)
    assert small.first_time("a") and small.first_time("b") and small.first_time("c")
    assert len(small._seen) <= 2


def test_query_helpers() -> None:
    assert clean_query("<@U1>  hello\x00 world ") == "hello world"
    assert clean_query(None) == ""
    assert combine_queries("", "to Norway") == "to Norway"
    assert combine_queries("delivery?", "to Norway") == "delivery? to Norway"


def test_settings_say_what_is_missing() -> None:
    assert SlackSettings.from_env({}).missing() == (
        "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set")
    assert SlackSettings.from_env({"SLACK_BOT_TOKEN": "x"}).missing() == (
        "SLACK_SIGNING_SECRET is not set")
    full = SlackSettings.from_env({"SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y",
                                   "SLACK_APP_TOKEN": "xapp", "SLACK_AGENT_CHANNELS": "C1, C2",
                                   "KB_MIN_SCORE": "0.5"})
    assert full.missing() == "" and full.socket_mode and full.agent_channels == ("C1", "C2")
    assert full.min_score == 0.5
    with pytest.raises(ValueError, match="SLACK_PORT"):
        SlackSettings.from_env({"SLACK_PORT": "abc"})


def test_python_m_bot_skips_without_tokens(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env={
        **env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "Skipping the Slack app: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are not set" in (
        done.stdout)


def test_post_reply_in_a_handoff_thread_is_relayed_to_the_customer(
        unit_services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.listeners.actions as actions

    relayed: list[dict] = []
    monkeypatch.setattr(actions, "relay_agent_reply",
                        lambda event, settings: relayed.append(dict(event)) or True)
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", "CHANDOFF")
    client = Mock(spec=WebClient)
    client.chat_postMessage.return_value = {"ok": True, "ts": "9.9"}
    respond = Mock()
    for channel in ("COTHER", "CHANDOFF"):
        value = json.dumps({"a": "x", "c": channel, "t": "1.1", "d": "Your parcel ships today."})
        post_reply(Mock(), {"user": {"id": AGENT}}, {"value": value}, respond, client)
    assert relayed == [{"type": "message", "channel": "CHANDOFF", "thread_ts": "1.1",
                        "ts": "9.9", "user": AGENT, "text": "Your parcel ships today."}]
    assert "sent it to the customer's chat" in respond.call_args.kwargs["text"]
