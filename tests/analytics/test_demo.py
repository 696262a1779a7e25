"""The demo plan: every language and flow, real seeded orders, buttons pressed only when the bot
offered them (no server here: the REST client is replaced by a recorder)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from analytics.demo import LANGUAGES, YES, Conversation, Say, plan, rate, run_conversation

ORDERS = [("in_transit", "A10001", "anna@example.com"), ("delivered", "A10003", "b@example.se"),
          ("paid", "A10002", "anna@example.com")]


def test_the_plan_covers_every_language_and_uses_seeded_orders() -> None:
    conversations = plan(48, ORDERS, seed=3)
    assert len(conversations) == 48
    languages = Counter(c.language for c in conversations)
    assert set(languages) == set(LANGUAGES) and min(languages.values()) >= 4
    said = [m.text for c in conversations for m in c.moves if isinstance(m, Say)]
    assert any(number in said for _, number, _ in ORDERS)
    assert plan(48, ORDERS, seed=3) == plan(48, ORDERS, seed=3)  # reproducible
    assert plan(48, [], seed=3)  # no store: still conversations, no order flows with orders


class Recorder:
    def __init__(self, replies: list[list[dict[str, Any]]]) -> None:
        self.replies = replies
        self.sent: list[str] = []

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        self.sent.append(message)
        return self.replies.pop(0) if self.replies else []


def test_buttons_are_pressed_only_when_offered() -> None:
    csat = [{"text": "rate us", "buttons": [
        {"title": str(n), "payload": f'/csat_rating{{"csat_rating": "{n}"}}'} for n in (1, 4, 5)]}]
    client = Recorder([[{"text": "an answer"}], csat, []])
    conversation = Conversation("en", "t", [Say("q?"), YES, Say("thanks"), rate(4), YES])
    sent = run_conversation(client, conversation, "s", pause=0)  # type: ignore[arg-type]
    assert client.sent == ["q?", "thanks", '/csat_rating{"csat_rating": "4"}']
    assert sent == 3


def test_make_run_starts_the_demo_only_on_an_empty_database(tmp_path, writer, engine,  # type: ignore[no-untyped-def]
                                                            analytics_url) -> None:
    import os
    import signal

    from analytics.demo import demo_wanted, start_demo
    from analytics.events import compact
    from tests.analytics.crafted import all_events

    env = {**os.environ, "ANALYTICS_DATABASE_URL": analytics_url, "DEMO_CONVERSATIONS": "5",
           "RASA_URL": "http://127.0.0.1:9"}  # nothing answers there: the demo just waits
    count = demo_wanted(env)
    assert count == 5
    # a customer's first message lands before the demo starts: the decision already taken
    # stands (make run asks before the bot answers anyone)
    writer.ingest([compact(e) for e in all_events()[:40]])
    process = start_demo(env, tmp_path / "logs", count)
    try:
        assert process.poll() is None  # running in the background; make run does not wait
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert demo_wanted(env) == 0  # a database with conversations gets none
    assert demo_wanted({**env, "DEMO_CONVERSATIONS": "0"}) == 0
