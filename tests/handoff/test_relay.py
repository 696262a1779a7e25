"""Unit tests of the handoff package: the relay's pure parts and its Rasa client on a local HTTP
server; the service (reasons, starting a handoff, forwarding) against a real SQLite store and the
local fake Slack Web API."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.listeners.handoff.relay import is_agent_reply_in_handoff_thread
from handoff import relay
from handoff.relay import (
    AGENT_MESSAGE_INTENT,
    HandoffContext,
    HandoffSettings,
    RasaConversations,
    RelayError,
    TranscriptLine,
    agents_on_duty,
    format_transcript,
    handoff_blocks,
    handoff_fallback_text,
    transcript_from_events,
)
from handoff.service import (
    REASONS,
    CustomerMessage,
    HandoffRequest,
    forward_customer_message,
    hand_over,
    note_attachments,
    reason_text,
    start_handoff,
)
from kb_index.types import Hit
from message_catalogue.messages import get_catalogue
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import EMAIL, ORDER_NUMBER, interactions, make_store

EVENTS: list[dict[str, Any]] = [
    {"event": "action", "name": "action_listen"},
    {"event": "user", "text": "/greet", "parse_data": {"intent": {"name": "greet"}}},
    {"event": "bot", "text": "Hi, welcome!"},
    {"event": "user", "text": "my lamp arrived broken <!channel>",
     "parse_data": {"intent": {"name": "complaint"}}},
    {"event": "bot", "text": "I'm sorry."},
    {"event": "user", "text": "EXTERNAL_agent_message",
     "parse_data": {"intent": {"name": AGENT_MESSAGE_INTENT}}},
    {"event": "bot", "text": "Hi, I'm Anna from Nordvik."},
    {"event": "user", "text": "thanks Anna", "parse_data": {"intent": {"name": "thank"}}},
]


def test_transcript_names_speakers_and_hides_external_intents() -> None:
    lines = transcript_from_events(EVENTS)
    assert lines == [
        TranscriptLine("customer", "[button: greet]"),
        TranscriptLine("bot", "Hi, welcome!"),
        TranscriptLine("customer", "my lamp arrived broken <!channel>"),
        TranscriptLine("bot", "I'm sorry."),
        TranscriptLine("agent", "Hi, I'm Anna from Nordvik."),
        TranscriptLine("customer", "thanks Anna"),
    ]


def test_long_transcript_is_cut_to_the_latest_lines_within_slack_limits() -> None:
    lines = [TranscriptLine("customer", f"message {i} " + "x" * 500) for i in range(100)]
    text = format_transcript(lines)
    assert "earlier lines not shown" in text
    assert "message 99" in text and "message 0 " not in text
    assert len(text) <= 2900


def _context(**overrides: Any) -> HandoffContext:
    values: dict[str, Any] = dict(
        case_id=42, conversation_id="conv-1", reason="complaint", customer="Astrid Berg",
        order_summary="A10234: delayed", transcript=tuple(transcript_from_events(EVENTS)),
        suggestions=(("Damaged item", "https://help.nordvik.example/articles/damaged",
                      "Report within 14 days"),),
    )
    values.update(overrides)
    return HandoffContext(**values)


def test_handoff_blocks_carry_customer_order_transcript_suggestions_and_end_buttons() -> None:
    blocks = handoff_blocks(_context())
    text = json.dumps(blocks)
    assert "case #42" in text and "Astrid Berg" in text and "A10234: delayed" in text
    assert "Damaged item" in text and "Report within 14 days" in text
    # customer text cannot ping the channel
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["handoff_resolve",
                                                               "handoff_unresolved"]
    assert {e["value"] for e in actions[0]["elements"]} == {"42"}


def test_handoff_blocks_without_verified_customer_or_suggestions() -> None:
    text = json.dumps(handoff_blocks(_context(customer=None, order_summary=None, suggestions=(),
                                              suggestions_note="knowledge index unavailable")))
    assert "not verified" in text and "no verified order" in text
    assert "knowledge index unavailable" in text


def test_handoff_blocks_name_the_customers_language() -> None:
    for language, label in (("sv", "Swedish (sv)"), ("nb", "Norwegian (nb)"),
                            ("zh", "Chinese (Traditional) (zh)"), ("en", "English (en)")):
        context = _context(language=language)
        fields = [field["text"] for block in handoff_blocks(context)
                  for field in block.get("fields", [])]
        assert f"*Customer writes:*\n{label}" in fields
        assert label.split(" (")[0] in handoff_fallback_text(context)
    assert "the customer writes Swedish" in handoff_fallback_text(_context(language="sv"))


def test_the_post_names_the_channel() -> None:
    blocks = handoff_blocks(_context(channel="email"))
    assert blocks[0]["text"]["text"] == "Email handoff: case #42"
    assert handoff_fallback_text(_context()).startswith("Chat handoff: case #42 (complaint;")


@pytest.mark.parametrize(("moment", "on_duty"), [
    (datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc), True),  # Tuesday 10:00 CET
    (datetime(2026, 11, 24, 6, 59, tzinfo=timezone.utc), False),  # Tuesday 07:59 CET
    (datetime(2026, 11, 24, 7, 0, tzinfo=timezone.utc), True),  # Tuesday 08:00 CET opens
    (datetime(2026, 11, 24, 16, 59, tzinfo=timezone.utc), True),  # Tuesday 17:59 CET
    (datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc), False),  # Tuesday 18:00 CET closed
    (datetime(2026, 11, 28, 9, 30, tzinfo=timezone.utc), True),  # Saturday 10:30 CET
    (datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc), False),  # Saturday 14:00 CET
    (datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc), False),  # Sunday
    (datetime(2026, 7, 7, 6, 30, tzinfo=timezone.utc), True),  # Tuesday 08:30 CEST (summer)
    (datetime(2026, 7, 7, 16, 30, tzinfo=timezone.utc), False),  # Tuesday 18:30 CEST
])
def test_agents_on_duty_by_stockholm_opening_hours(moment: datetime, on_duty: bool) -> None:
    assert agents_on_duty(moment) is on_duty


def test_the_wait_is_the_catalogues_not_the_relays() -> None:
    assert not hasattr(relay, "expected_wait")
    catalogue = get_catalogue()
    started = catalogue.text("utter_handoff_started", "sv", case_id=12, minutes=7)
    assert "#12" in started and "7" in started and "{" not in started
    offline = catalogue.text("utter_handoff_started_offline", "en", case_id=12)
    assert "#12" in offline and "{" not in offline


def test_settings_from_env_and_bad_values() -> None:
    settings = HandoffSettings.from_env({"SLACK_HANDOFF_CHANNEL": "C1", "RASA_PORT": "5999"})
    assert settings.rasa_url == "http://127.0.0.1:5999"
    assert settings.missing() == "SLACK_BOT_TOKEN not set"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert HandoffSettings.from_env({"SLACK_API_URL": " "}).slack_api_url == (
        "https://slack.com/api/")
    with pytest.raises(ValueError, match="HANDOFF_EXPECTED_WAIT_MINUTES"):
        HandoffSettings.from_env({"HANDOFF_EXPECTED_WAIT_MINUTES": "soon"})
    with pytest.raises(ValueError, match="HANDOFF_DELIVERY_ATTEMPTS=-1 must be at least 0"):
        HandoffSettings.from_env({"HANDOFF_DELIVERY_ATTEMPTS": "-1"})


def test_only_human_replies_inside_handoff_threads_are_relayed() -> None:
    settings = HandoffSettings(channel="CHAND")
    reply = {"type": "message", "channel": "CHAND", "user": "U1", "text": "Hello!",
             "ts": "2.0", "thread_ts": "1.0"}
    assert is_agent_reply_in_handoff_thread(reply, settings)
    assert not is_agent_reply_in_handoff_thread({**reply, "channel": "COTHER"}, settings)
    assert not is_agent_reply_in_handoff_thread({**reply, "thread_ts": None}, settings)
    assert not is_agent_reply_in_handoff_thread({**reply, "ts": "1.0"}, settings)  # the root
    assert not is_agent_reply_in_handoff_thread({**reply, "bot_id": "B1"}, settings)
    assert not is_agent_reply_in_handoff_thread({**reply, "subtype": "message_changed"}, settings)
    assert not is_agent_reply_in_handoff_thread({**reply, "text": "  "}, settings)


class _FakeRasa(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((self.path, body))
        status = type(self).answers.pop(0) if type(self).answers else 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture()
def fake_rasa() -> Iterator[str]:
    _FakeRasa.answers = []
    _FakeRasa.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_trigger_posts_external_intent_with_latest_output_channel(fake_rasa: str) -> None:
    rasa = RasaConversations(HandoffSettings(rasa_url=fake_rasa, retry_seconds=0.01))
    rasa.trigger("session/with space", AGENT_MESSAGE_INTENT, {"agent_message": "Hej!"})
    path, body = _FakeRasa.received[0]
    assert path == ("/conversations/session%2Fwith%20space/trigger_intent"
                    "?output_channel=latest")
    assert body == {"name": AGENT_MESSAGE_INTENT, "entities": {"agent_message": "Hej!"}}


def test_trigger_retries_while_rasa_restarts(fake_rasa: str) -> None:
    _FakeRasa.answers = [409, 503]
    rasa = RasaConversations(HandoffSettings(rasa_url=fake_rasa, retry_seconds=0.01))
    rasa.trigger("c1", AGENT_MESSAGE_INTENT, {"agent_message": "x"})
    assert len(_FakeRasa.received) == 3


def test_trigger_fails_clearly_on_a_refusal_and_when_unreachable(fake_rasa: str) -> None:
    _FakeRasa.answers = [400]
    rasa = RasaConversations(HandoffSettings(rasa_url=fake_rasa, retry_seconds=0.01))
    with pytest.raises(RelayError, match="HTTP 400"):
        rasa.trigger("c1", "EXTERNAL_unknown")
    assert len(_FakeRasa.received) == 1
    down = RasaConversations(HandoffSettings(rasa_url="http://127.0.0.1:9", delivery_attempts=2,
                                             retry_seconds=0.01))
    with pytest.raises(RelayError, match="after 2 attempts"):
        down.trigger("c1", AGENT_MESSAGE_INTENT)


# --- handoff.service ----------------------------------------------------------------------------

CHANNEL = "CHANDOFF"
TUESDAY_10_CET = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
SUNDAY = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class _FakeSearch:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.calls: list[dict[str, Any]] = []

    def search(self, query: str, *, k: int = 5, lang: str | None = None,
               audience: tuple[str, ...] = ("public",), tags: tuple[str, ...] = ()) -> list[Hit]:
        self.calls.append({"query": query, "k": k, "lang": lang, "audience": audience})
        return self.hits


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderStore]:
    import store

    made = make_store(tmp_path, monkeypatch)
    monkeypatch.setenv("KB_URL", _closed_url())
    yield made
    store.get_store.cache_clear()


@pytest.fixture()
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


def _settings(slack: FakeSlackApi) -> HandoffSettings:
    return HandoffSettings(channel=CHANNEL, bot_token="xoxb-test", slack_api_url=slack.url)


def _request(**overrides: Any) -> HandoffRequest:
    values: dict[str, Any] = dict(
        conversation_id="conv-s", channel="chat", reason="requested", language="sv",
        transcript=(TranscriptLine("customer", "var är min lampa?"),),
        question="var är min lampa?", order=None)
    values.update(overrides)
    return HandoffRequest(**values)


def test_reason_text_for_every_code_and_a_default() -> None:
    assert reason_text("requested") == "the customer asked for a person"
    assert reason_text("complaint") == "complaint"
    assert reason_text("email_complaint") == "a complaint by e-mail"
    assert reason_text(None) == reason_text("not_understood") == (
        "the bot could not answer the customer's question")
    assert reason_text("made_up") == reason_text("not_understood")
    assert all(text and text == text.strip() for text in REASONS.values())


def test_start_opens_a_case_with_the_reason_and_the_wait_by_opening_hours(
        crm: OrderStore, slack: FakeSlackApi) -> None:
    on = start_handoff(_request(conversation_id="conv-on"), _settings(slack), now=TUESDAY_10_CET)
    assert (on.kind, on.agents_on_duty) == ("started", True)
    case = crm.get_case(on.case_id)
    assert case is not None and case.status == "handoff"
    assert case.subject == "Chat handoff: the customer asked for a person"
    assert case.slack_channel == CHANNEL and case.slack_thread_ts is not None
    off = start_handoff(_request(conversation_id="conv-off", channel="email",
                                 reason="email_complaint"), _settings(slack), now=SUNDAY)
    assert (off.kind, off.agents_on_duty) == ("started", False)
    off_case = crm.get_case(off.case_id)
    assert off_case is not None and off_case.subject == "Email handoff: a complaint by e-mail"
    assert off_case.channel == "email"


def test_start_reuses_the_conversations_open_case(crm: OrderStore, slack: FakeSlackApi) -> None:
    order = crm.get_order(ORDER_NUMBER)
    assert order is not None
    existing = crm.open_case(subject="Question about a delivery", channel="chat",
                             order_number=ORDER_NUMBER, conversation_id="conv-s")
    outcome = start_handoff(_request(reason="complaint", order=order), _settings(slack),
                            now=TUESDAY_10_CET)
    assert (outcome.kind, outcome.case_id) == ("started", existing.id)
    case = crm.get_case(existing.id)
    assert case is not None and case.status == "handoff"
    assert case.subject == "Question about a delivery; handed off: complaint"
    post = slack.posts(channel=CHANNEL)[0]
    assert f"case #{existing.id}" in json.dumps(post["blocks"])
    again = start_handoff(_request(), _settings(slack), now=TUESDAY_10_CET)
    assert (again.kind, again.case_id) == ("already_active", existing.id)
    assert len(slack.posts(channel=CHANNEL)) == 1


def test_a_closed_case_is_not_reused(crm: OrderStore, slack: FakeSlackApi) -> None:
    old = crm.open_case(subject="old", channel="chat", conversation_id="conv-s")
    crm.close_case(old.id, "done")
    outcome = start_handoff(_request(), _settings(slack), now=TUESDAY_10_CET)
    assert outcome.kind == "started" and outcome.case_id != old.id


def test_the_post_names_the_customer_and_language_and_searches_in_it(
        crm: OrderStore, slack: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb_index.client import HttpKnowledgeClient

    search = _FakeSearch([Hit("lamp-sv", "Trasig lampa", "Skicka bilder.", 0.7, "sv",
                              "https://help.nordvik.example/sv/lampa", False,
                              audience="internal")])
    monkeypatch.setattr(HttpKnowledgeClient, "from_env", classmethod(lambda cls, **_: search))
    order = crm.get_order(ORDER_NUMBER)
    start_handoff(_request(order=order, language="zh"), _settings(slack), now=TUESDAY_10_CET)
    assert search.calls == [{"query": "var är min lampa?", "k": 3, "lang": "zh",
                             "audience": ("public", "internal")}]
    post = slack.posts(channel=CHANNEL)[0]
    blocks = json.dumps(post["blocks"], ensure_ascii=False)
    assert "Chinese (Traditional) (zh)" in blocks and "Trasig lampa" in blocks
    assert "Anna Berg" in blocks and ORDER_NUMBER in blocks
    assert "the customer writes Chinese (Traditional)" in post["text"]


def test_no_question_means_no_search(crm: OrderStore, slack: FakeSlackApi,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from kb_index.client import HttpKnowledgeClient

    search = _FakeSearch([])
    monkeypatch.setattr(HttpKnowledgeClient, "from_env", classmethod(lambda cls, **_: search))
    start_handoff(_request(question="  "), _settings(slack), now=TUESDAY_10_CET)
    assert search.calls == []
    assert "no customer question to search for" in json.dumps(slack.posts()[0]["blocks"])


def test_slack_not_configured_or_failing_closes_a_new_case(crm: OrderStore,
                                                           slack: FakeSlackApi) -> None:
    missing = start_handoff(_request(conversation_id="c1"), HandoffSettings(channel=CHANNEL))
    assert missing.kind == "unavailable"
    case = crm.get_case(missing.case_id)
    assert case is not None and case.status == "closed" and "not configured" in str(
        case.resolution)
    slack.fail["chat.postMessage"] = "channel_not_found"
    failed = start_handoff(_request(conversation_id="c2"), _settings(slack))
    case = crm.get_case(failed.case_id)
    assert failed.kind == "unavailable"
    assert case is not None and case.status == "closed" and case.slack_thread_ts is None


def test_forwarding_redacts_addresses_in_the_record_not_for_the_agent(
        crm: OrderStore, slack: FakeSlackApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    outcome = start_handoff(_request(), _settings(slack), now=TUESDAY_10_CET)
    case = crm.get_case(outcome.case_id)
    assert case is not None
    text = f"my address is {EMAIL}, order {ORDER_NUMBER}"
    result = forward_customer_message("conv-s", "chat", text, _settings(slack),
                                      attachments=("photo.jpg",))
    assert result == "delivered"
    post = slack.posts(thread_ts=case.slack_thread_ts)[0]
    assert post["text"] == f"Customer: {text}\n(attachment not opened: photo.jpg)"
    assert interactions(crm, "conv-s") == [("in", f"my address is [e-mail], order {ORDER_NUMBER}")]
    assert EMAIL not in caplog.text


def test_forwarding_without_an_open_handoff_or_with_slack_down(crm: OrderStore,
                                                               slack: FakeSlackApi) -> None:
    assert forward_customer_message("nobody", "chat", "hello", _settings(slack)) == "closed"
    outcome = start_handoff(_request(), _settings(slack), now=TUESDAY_10_CET)
    slack.fail["chat.postMessage"] = "ratelimited"
    assert forward_customer_message("conv-s", "chat", "hello", _settings(slack)) == (
        "not_delivered")
    crm.close_case(outcome.case_id, "resolved")
    assert forward_customer_message("conv-s", "chat", "hello", _settings(slack)) == "closed"


def test_hand_over_forwards_the_whole_message_into_the_new_thread(
        crm: OrderStore, slack: FakeSlackApi) -> None:
    message = CustomerMessage(f"Subject: Lamp\n\nwrite to {EMAIL}", "Whatever to answer",
                              ("photo.jpg (image/jpeg, 3 KB)",))
    outcome = hand_over(_request(channel="email", reason="email_unclear"), _settings(slack),
                        message, now=TUESDAY_10_CET)
    assert (outcome.kind, outcome.agents_on_duty) == ("started", True)
    case = crm.get_case(outcome.case_id)
    assert case is not None and case.status == "handoff" and case.channel == "email"
    (post,) = slack.posts(thread_ts=case.slack_thread_ts)
    assert post["text"] == (f"Customer: Subject: Lamp\n\nwrite to {EMAIL}\n"
                            "(attachment not opened: photo.jpg (image/jpeg, 3 KB))")
    assert interactions(crm, "conv-s") == [("in", "Subject: Lamp\n\nwrite to [e-mail]")]
    assert note_attachments("conv-s", "email", ("a.pdf", "b.png"), _settings(slack)) is True
    assert slack.posts(thread_ts=case.slack_thread_ts)[-1]["text"] == (
        "(attachment not opened: a.pdf)\n(attachment not opened: b.png)")


def test_hand_over_without_slack_leaves_a_case_open_with_the_message(
        crm: OrderStore, slack: FakeSlackApi) -> None:
    order = crm.get_order(ORDER_NUMBER)
    message = CustomerMessage(f"my address is {EMAIL}", "Message to answer by e-mail",
                              ("photo.jpg",))
    outcome = hand_over(_request(reason="complaint", order=order), HandoffSettings(), message)
    assert outcome.kind == "unavailable"
    case = crm.get_case(outcome.case_id)
    assert case is not None and (case.status, case.order_number) == ("open", ORDER_NUMBER)
    assert case.subject == "Message to answer by e-mail (Slack unavailable): complaint"
    assert interactions(crm, "conv-s") == [
        ("in", "my address is [e-mail]\n(attachment not opened: photo.jpg)")]
    assert slack.posts() == []
    assert note_attachments("conv-s", "chat", ("x.pdf",), HandoffSettings()) is False
