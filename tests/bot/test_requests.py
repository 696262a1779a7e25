"""Full requests: signed bodies dispatched through the real Bolt app, Web API calls recorded by
the local fake Slack API, a real knowledge index (kb_index) and a real SQLite order store."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import create_app
from bot.http_server import serve_in_thread
from bot.services import Services, configure
from bot.settings import SlackSettings
from kb_index.client import HttpKnowledgeClient
from kb_index.feedback import FeedbackStore
from kb_index.search import LiveIndex
from store.repository import OrderStore
from tests.bot.conftest import (
    AGENT,
    AGENT_CHANNEL,
    OUTSIDER,
    SECRET,
    TOKEN,
    command_body,
    dispatch,
    event_body,
    payload_body,
    sign,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.support.store import ORDERS, make_test_store, sqlite_url


def _texts(params: dict) -> str:
    return json.dumps(params.get("blocks") or [], ensure_ascii=False) + str(params.get("text"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def order_store(tmp_path: Path, services: Services) -> Iterator[OrderStore]:
    crm = make_test_store(sqlite_url(tmp_path / "store.db"))
    services._store = crm
    yield crm
    crm.engine.dispose()


# --- signatures -------------------------------------------------------------------------------
def test_bad_signature_and_stale_timestamp_are_rejected(app: App, fake_api: FakeSlackApi) -> None:
    body = command_body("/suggest", "delivery to Norway", fake_api)
    assert dispatch(app, body, secret="not-the-secret").status == 401
    assert dispatch(app, body, timestamp=int(time.time()) - 600).status == 401
    unsigned = app.dispatch(__import__("slack_bolt").BoltRequest(
        body=body, headers={"content-type": "application/x-www-form-urlencoded"}))
    assert unsigned.status == 401
    time.sleep(0.3)
    assert fake_api.calls_to("response_url") == []
    assert dispatch(app, body).status == 200  # the same body, correctly signed, is accepted
    fake_api.wait_for("response_url")


# --- /suggest ---------------------------------------------------------------------------------
def test_suggest_command_posts_suggestions_to_response_url(
        app: App, fake_api: FakeSlackApi) -> None:
    # Slack wants the ack within 3 s, whatever the search costs: the ack must not wait for the
    # suggestions. The fake holds their post until the ack is in (order of events, not time).
    release = threading.Event()
    fake_api.hold["response_url"] = release
    acked: list[Any] = []
    try:
        command = threading.Thread(target=lambda: acked.append(dispatch(
            app, command_body("/suggest", "How long does delivery to Norway take?", fake_api))))
        command.start()
        command.join(timeout=45)  # the hold lasts 60 s: an ack that waited would still be out
        assert acked and acked[0].status == 200 and not release.is_set()
    finally:
        release.set()
        del fake_api.hold["response_url"]
    posted = fake_api.wait_for("response_url")[0]
    assert posted["response_type"] == "ephemeral"
    assert "Delivery to Norway" in _texts(posted)
    assert "Bring and arrive in 2-5 business days" in _texts(posted)
    assert "https://help.nordvik.example/articles/shipping-norway" in _texts(posted)


def test_suggest_shows_internal_articles_to_agents(app: App, fake_api: FakeSlackApi) -> None:
    dispatch(app, command_body("/suggest", "How much goodwill refund may an agent give?",
                               fake_api))
    assert "Agent refund authority" in _texts(fake_api.wait_for("response_url")[0])


def test_suggest_without_text_opens_the_modal(app: App, fake_api: FakeSlackApi) -> None:
    assert dispatch(app, command_body("/suggest", "   ", fake_api)).status == 200
    opened = fake_api.wait_for("views.open")[0]
    assert opened["trigger_id"] == "111.222.abc"
    assert opened["view"]["callback_id"] == "suggest_modal"


def test_no_good_match_says_so_and_records_a_gap(app: App, fake_api: FakeSlackApi,
                                                 feedback: FeedbackStore) -> None:
    dispatch(app, command_body("/suggest", "xyzzy quantum blorp", fake_api))
    posted = fake_api.wait_for("response_url")[0]
    assert "no article that answers" in _texts(posted)
    assert [g.query for g in feedback.gaps()] == ["xyzzy quantum blorp"]


def test_forty_kilobytes_of_text_get_an_answer(app: App, fake_api: FakeSlackApi) -> None:
    text = "delivery to Norway. " * 2200  # a 44 kB paste; only its first 3,000 characters count
    assert len(text) > 40_000
    assert dispatch(app, command_body("/suggest", text, fake_api)).status == 200
    posted = fake_api.wait_for("response_url")[0]
    assert "Delivery to Norway" in _texts(posted)
    assert "searched its first 3,000 characters" in _texts(posted)


def test_index_unavailable_gives_an_ephemeral_message_and_logs_the_traceback(
        settings: SlackSettings, feedback: FeedbackStore, fake_api: FakeSlackApi,
        caplog: pytest.LogCaptureFixture) -> None:
    down = HttpKnowledgeClient(f"http://127.0.0.1:{_closed_port()}", timeout=1.0)
    configure(Services(settings, knowledge=down, feedback=feedback))
    try:
        app = create_app(settings, client=WebClient(token=TOKEN, base_url=fake_api.url))
        with caplog.at_level(logging.ERROR):
            dispatch(app, command_body("/suggest", "delivery to Norway", fake_api))
            posted = fake_api.wait_for("response_url")[0]
    finally:
        configure(None)
    assert posted["response_type"] == "ephemeral"
    assert "knowledge base is unavailable" in posted["text"]
    assert "unreachable" not in _texts(posted) and "Error" not in _texts(posted)
    errors = [r for r in caplog.records if r.name == "bot.suggest" and r.exc_info]
    assert errors and "KnowledgeUnavailable" in repr(errors[0].exc_info[0])


# --- /order -----------------------------------------------------------------------------------
def test_order_card_for_an_agent_in_the_user_group(app: App, fake_api: FakeSlackApi,
                                                    order_store: OrderStore) -> None:
    number = ORDERS["in_transit"].number
    dispatch(app, command_body("/order", number.lower(), fake_api))
    posted = fake_api.wait_for("response_url")[0]
    assert posted["response_type"] == "ephemeral"
    assert f"Order {number}" in _texts(posted)
    assert ORDERS["in_transit"].tracking_number or "" in _texts(posted)
    assert fake_api.calls_to("usergroups.users.list")[0]["usergroup"] == "SAGENTS"


def test_order_for_an_agent_by_channel_membership(app: App, fake_api: FakeSlackApi,
                                                  order_store: OrderStore) -> None:
    fake_api.usergroup_users["SAGENTS"] = []
    dispatch(app, command_body("/order", "A10003", fake_api, user="UAGENT2"))
    assert "Order A10003" in _texts(fake_api.wait_for("response_url")[0])
    assert fake_api.calls_to("conversations.members")[0]["channel"] == AGENT_CHANNEL


def test_order_refuses_non_agents_politely_and_logs_the_user_id(
        app: App, fake_api: FakeSlackApi, order_store: OrderStore,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        dispatch(app, command_body("/order", "A10001", fake_api, user=OUTSIDER))
        posted = fake_api.wait_for("response_url")[0]
    assert "only for support agents" in posted["text"]
    assert "A10001" not in _texts(posted)
    assert any(OUTSIDER in r.getMessage() and "refused" in r.getMessage()
               for r in caplog.records)


def test_order_junk_and_unknown_numbers_get_clear_answers(
        app: App, fake_api: FakeSlackApi, order_store: OrderStore) -> None:
    for text, expected in (("", "Give me an order number"),
                           ("<script>alert(1)</script>", "is not an order number"),
                           ("A99999", "I found no order `A99999`")):
        fake_api.clear()
        dispatch(app, command_body("/order", text, fake_api, channel=AGENT_CHANNEL))
        assert expected in fake_api.wait_for("response_url")[0]["text"]


def test_order_database_unavailable(app: App, fake_api: FakeSlackApi, services: Services,
                                    caplog: pytest.LogCaptureFixture) -> None:
    services._store = OrderStore.from_url(f"postgresql+psycopg2://postgres@127.0.0.1:"
                                          f"{_closed_port()}/nothing")
    with caplog.at_level(logging.ERROR):
        dispatch(app, command_body("/order", "A10001", fake_api))
        posted = fake_api.wait_for("response_url")[0]
    assert "order database is unavailable" in posted["text"]
    assert "127.0.0.1" not in _texts(posted)
    assert any(r.exc_info for r in caplog.records if r.name == "bot.orders")


# --- message shortcut -------------------------------------------------------------------------
def test_message_shortcut_suggests_in_the_thread(app: App, fake_api: FakeSlackApi) -> None:
    payload = {"type": "message_action", "callback_id": "suggest_reply", "trigger_id": "1.2.x",
               "team": {"id": "T1"}, "user": {"id": AGENT}, "channel": {"id": "CSUPPORT"},
               "message": {"type": "message", "text": "How many days do I have to return an item?",
                           "ts": "1700000100.000100", "user": "UCUSTOMER"},
               "response_url": fake_api.response_url("shortcut")}
    assert dispatch(app, payload_body(payload)).status == 200
    posted = fake_api.wait_for("chat.postEphemeral")[0]
    assert posted["channel"] == "CSUPPORT" and posted["user"] == AGENT
    assert posted["thread_ts"] == "1700000100.000100"
    assert "Returning an item" in _texts(posted)
    assert "suggestion_post_reply" in _texts(posted)


# --- @mention in a thread, retries ----------------------------------------------------------
def _mention(event_ts: str = "1700000200.000200") -> dict:
    return {"type": "app_mention", "user": AGENT, "text": "<@UBOT> suggest", "ts": event_ts,
            "thread_ts": "1700000100.000100", "channel": "CSUPPORT", "event_ts": event_ts}


def test_mention_in_thread_suggests_a_reply_to_the_parent(app: App,
                                                          fake_api: FakeSlackApi) -> None:
    fake_api.replies[("CSUPPORT", "1700000100.000100")] = [
        {"type": "message", "user": "UCUSTOMER", "ts": "1700000100.000100",
         "text": "How long does delivery to Norway take?"}]
    response = dispatch(app, event_body(_mention()), content_type="application/json")
    assert response.status == 200
    posted = fake_api.wait_for("chat.postEphemeral")[0]
    assert posted["thread_ts"] == "1700000100.000100" and posted["user"] == AGENT
    assert "Delivery to Norway" in _texts(posted)
    assert fake_api.calls_to("conversations.replies")[0]["ts"] == "1700000100.000100"


def test_retried_event_posts_nothing_the_second_time(app: App, fake_api: FakeSlackApi) -> None:
    fake_api.replies[("CSUPPORT", "1700000100.000100")] = [
        {"type": "message", "user": "UCUSTOMER", "ts": "1700000100.000100",
         "text": "How many days do I have to return an item?"}]
    body = event_body(_mention(), event_id="EvRETRY1")
    assert dispatch(app, body, content_type="application/json").status == 200
    fake_api.wait_for("chat.postEphemeral")
    retry = dispatch(app, body, content_type="application/json",
                     headers={"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"})
    assert retry.status == 200
    time.sleep(0.5)
    assert len(fake_api.calls_to("chat.postEphemeral")) == 1
    assert len(fake_api.calls_to("conversations.replies")) == 1


# --- buttons ----------------------------------------------------------------------------------
def _action_payload(fake: FakeSlackApi, action: dict) -> dict:
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": AGENT},
            "api_app_id": "A1", "trigger_id": "1.2.x", "container": {"type": "message",
                                                                     "is_ephemeral": True},
            "channel": {"id": "CSUPPORT"}, "response_url": fake.response_url("action"),
            "actions": [{"block_id": "buttons_1", "action_ts": "1700000300.1", **action}]}


def test_helpful_vote_is_stored(app: App, fake_api: FakeSlackApi,
                                feedback: FeedbackStore) -> None:
    value = json.dumps({"a": "shipping-norway", "q": "delivery to Norway", "s": "slack_mention"})
    action = {"action_id": "suggestion_helpful", "type": "button", "value": value}
    assert dispatch(app, payload_body(_action_payload(fake_api, action))).status == 200
    assert "Thanks" in fake_api.wait_for("response_url")[0]["text"]
    votes = feedback.votes()
    assert [(v.article_id, v.helpful, v.not_helpful) for v in votes] == [
        ("shipping-norway", 1, 0)]


def test_post_reply_to_thread(app: App, fake_api: FakeSlackApi) -> None:
    value = json.dumps({"a": "shipping-norway", "c": "CSUPPORT", "t": "1700000100.000100",
                        "d": "Parcels to Norway arrive in 2-5 business days."})
    action = {"action_id": "suggestion_post_reply", "type": "button", "value": value}
    dispatch(app, payload_body(_action_payload(fake_api, action)))
    posted = fake_api.wait_for_post()
    assert posted["channel"] == "CSUPPORT" and posted["thread_ts"] == "1700000100.000100"
    assert posted["text"] == "Parcels to Norway arrive in 2-5 business days."
    assert f"<@{AGENT}>" in _texts(posted)
    assert "Posted the reply" in fake_api.wait_for("response_url")[0]["text"]


def test_malformed_button_value_gets_a_clear_answer(app: App, fake_api: FakeSlackApi) -> None:
    action = {"action_id": "suggestion_not_helpful", "type": "button", "value": "{{junk"}
    dispatch(app, payload_body(_action_payload(fake_api, action)))
    assert "incomplete" in fake_api.wait_for("response_url")[0]["text"]


def test_malformed_payload_is_refused_without_posting(app: App, fake_api: FakeSlackApi) -> None:
    server = serve_in_thread(app, SECRET, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    try:
        for body, secret, code in (("payload=%7Bnot-json", SECRET, 400),
                                   ("payload=%7Bnot-json", "wrong", 401)):
            headers = {"Content-Type": "application/x-www-form-urlencoded",
                       **sign(body, secret=secret)}
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(urllib.request.Request(url, body.encode(), headers),
                                       timeout=5)
            assert refused.value.code == code
        # a well-formed but meaningless payload: acknowledged by Bolt's dispatcher, nothing posted
        assert dispatch(app, payload_body({"type": "no_such_type"})).status == 404
    finally:
        server.shutdown()
        server.server_close()
    time.sleep(0.2)
    assert [m for m in fake_api.methods() if m != "auth.test"] == []


# --- the modal --------------------------------------------------------------------------------
def test_modal_submission_posts_suggestions(app: App, fake_api: FakeSlackApi) -> None:
    view = {"id": "V1", "type": "modal", "callback_id": "suggest_modal",
            "private_metadata": "CSUPPORT", "state": {"values": {"question": {
                "question_input": {"type": "plain_text_input",
                                   "value": "Are gift cards valid for long?"}}}}}
    payload = {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": AGENT},
               "api_app_id": "A1", "view": view}
    response = dispatch(app, payload_body(payload))
    assert response.status == 200
    posted = fake_api.wait_for("chat.postEphemeral")[0]
    assert posted["channel"] == "CSUPPORT" and posted["user"] == AGENT
    assert "Gift cards" in _texts(posted) and "past its review date" in _texts(posted)


# --- the assistant panel ----------------------------------------------------------------------
def test_assistant_thread_started_greets_with_prompts(app: App, fake_api: FakeSlackApi) -> None:
    event = {"type": "assistant_thread_started", "event_ts": "1700000400.1",
             "assistant_thread": {"user_id": AGENT, "channel_id": "DAGENT",
                                  "thread_ts": "1700000400.000001", "context": {}}}
    assert dispatch(app, event_body(event, "EvA1"), content_type="application/json").status == 200
    greeting = fake_api.wait_for_post()
    assert greeting["channel"] == "DAGENT" and greeting["thread_ts"] == "1700000400.000001"
    prompts = fake_api.wait_for("assistant.threads.setSuggestedPrompts")[0]
    assert len(prompts["prompts"]) == 3


def test_assistant_follow_up_refines_the_previous_question(app: App,
                                                           fake_api: FakeSlackApi) -> None:
    thread = "1700000500.000001"
    fake_api.replies[("DAGENT", thread)] = [
        {"type": "message", "bot_id": "BBOT", "ts": thread, "text": "Hi!"},
        {"type": "message", "user": AGENT, "ts": "1700000500.000002",
         "text": "How long does delivery take?"},
        {"type": "message", "user": AGENT, "ts": "1700000500.000003", "text": "to Norway"},
    ]
    event = {"type": "message", "channel_type": "im", "channel": "DAGENT", "user": AGENT,
             "text": "to Norway", "ts": "1700000500.000003", "thread_ts": thread,
             "event_ts": "1700000500.000003"}
    assert dispatch(app, event_body(event, "EvA2"), content_type="application/json").status == 200
    posted = fake_api.wait_for_post(channel="DAGENT")
    assert posted["thread_ts"] == thread
    assert "How long does delivery take? to Norway" in _texts(posted)
    assert "Delivery to Norway" in _texts(posted)
    assert fake_api.calls_to("assistant.threads.setStatus")[0]["channel_id"] == "DAGENT"


# --- HTTP mode --------------------------------------------------------------------------------
def test_http_mode_serves_signed_requests(app: App, fake_api: FakeSlackApi) -> None:
    server = serve_in_thread(app, SECRET, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    try:
        body = command_body("/suggest", "How many days to return an item?", fake_api)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        with urllib.request.urlopen(urllib.request.Request(url, body.encode(), headers),
                                    timeout=5) as answer:
            assert answer.status == 200
        assert "Returning an item" in _texts(fake_api.wait_for("response_url")[0])
        bad = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url, body.encode(), bad), timeout=5)
        assert refused.value.code == 401
    finally:
        server.shutdown()
        server.server_close()


def test_real_index_is_used(services: Services) -> None:
    assert isinstance(services.knowledge(), LiveIndex)
    assert SECRET


def test_plain_channel_messages_and_context_changes_post_nothing(
        app: App, fake_api: FakeSlackApi) -> None:
    message = {"type": "message", "channel": "CSUPPORT", "channel_type": "channel",
               "user": "UCUSTOMER", "text": "hello", "ts": "1700000600.1"}
    assert dispatch(app, event_body(message, "EvM1"), content_type="application/json").status == 200
    changed = {"type": "assistant_thread_context_changed", "event_ts": "1700000600.2",
               "assistant_thread": {"user_id": AGENT, "channel_id": "DAGENT",
                                    "thread_ts": "1700000400.000001",
                                    "context": {"channel_id": "CSUPPORT"}}}
    fake_api.replies[("DAGENT", "1700000400.000001")] = [
        {"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": "1700000400.000002",
         "text": "Hi!", "blocks": []}]
    assert dispatch(app, event_body(changed, "EvM2"), content_type="application/json"
                    ).status == 200
    saved = fake_api.wait_for("chat.update")[0]  # Bolt keeps the context in message metadata
    assert saved["channel"] == "DAGENT"
    time.sleep(0.3)
    assert fake_api.calls_to("chat.postMessage") == []
    assert fake_api.calls_to("chat.postEphemeral") == []
