"""Unit tests of the handoff relay: pure parts, and its Rasa client on a local HTTP server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.listeners.handoff.relay import is_agent_reply_in_handoff_thread
from handoff.relay import (
    AGENT_MESSAGE_INTENT,
    HandoffContext,
    HandoffSettings,
    RasaConversations,
    RelayError,
    TranscriptLine,
    agents_on_duty,
    expected_wait,
    format_transcript,
    handoff_blocks,
    transcript_from_events,
)

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


def test_expected_wait_inside_and_outside_opening_hours() -> None:
    tuesday_10_cet = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    sunday = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    assert agents_on_duty(tuesday_10_cet) and not agents_on_duty(sunday)
    assert expected_wait(tuesday_10_cet, 7) == "about 7 minutes"
    assert "Mon-Fri 08:00-18:00" in expected_wait(sunday, 7)
    # in the customer's language; English for anything else
    assert expected_wait(tuesday_10_cet, 7, "sv") == "ungefär 7 minuter"
    assert expected_wait(tuesday_10_cet, 7, "zh") == "大約 7 分鐘"
    assert "mån-fre 08.00-18.00" in expected_wait(sunday, 7, "sv")
    assert expected_wait(tuesday_10_cet, 7, "de") == "about 7 minutes"


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
