"""The review report on crafted events: messages with a fallback, a "did you mean" or in a
conversation rated 1-2, grouped by language and guessed intent; button presses and rating
answers left out; addresses masked; the command line prints counts and no message text."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.kpis import KpiFilter
from analytics.review import mark_message
from analytics.review_report import ReviewReport, review_report
from tests.analytics.crafted import DAY1
from tests.analytics.scripts import Script

ROOT = Path(__file__).resolve().parents[2]
RANGE = KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 8))
UNCLEAR_SV = "jag undrar om frakten till gotland kostar extra"


def ranked(script: Script, *ranking: tuple[str, float], topic: str | None = None) -> Script:
    """Give the last customer message an intent ranking (and an FAQ topic), as Rasa logs it."""
    user = [e for e in script.events if e["event"] == "user"][-1]
    user["parse_data"]["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    if topic:
        user["parse_data"]["response_selector"] = {
            "faq": {"response": {"intent_response_key": f"faq/{topic}"}}}
    return script


def crafted() -> list[Script]:
    fallback = Script("rv-sv", DAY1).session()
    fallback.user(UNCLEAR_SV, "nlu_fallback", language="sv", confidence=0.3)
    ranked(fallback, ("nlu_fallback", 0.3), ("faq", 0.28), ("greet", 0.1),
           topic="shipping_times")
    fallback.action("action_knowledge_search").bot("utter_ask_rephrase", "Annorlunda?").listen()
    fallback.user("frakt gotland pris mejla eva@example.se", "nlu_fallback", language="sv",
                  confidence=0.2)
    ranked(fallback, ("nlu_fallback", 0.2), ("faq", 0.15), topic="shipping_times")
    fallback.action("action_knowledge_search").bot("utter_offer_human", "En kollega?").listen()

    clarified = Script("rv-en", DAY1 + 60).session()
    clarified.user("parcel where", "nlu_fallback", confidence=0.35)
    clarified.action("action_knowledge_search")
    clarified.bot("utter_clarify_check_order_status", "Do you want to know where it is?")
    clarified.slot("pending_question", "clarify").listen()

    low = Script("rv-low", DAY1 + 120).session()
    low.user("the sofa came broken and nobody answers", "complaint", confidence=0.9)
    low.handoff(connected=True, typed=False).agent_reply("Sorry!", dt=30.0)
    low.agent_close(dt=60.0)
    low.user('/csat_rating{"csat_rating": "1"}', "csat_rating",
             entities=[{"entity": "csat_rating", "value": "1"}])
    low.action("action_submit_csat").listen()
    low.user("1", "csat_rating").action("action_submit_csat").listen()  # a typed rating

    happy = Script("rv-happy", DAY1 + 180).session()
    happy.user("hi there", "greet").action("utter_greet").bot("utter_greet", "Hi!").listen()
    happy.csat(5)
    return [fallback, clarified, low, happy]


@pytest.fixture()
def loaded(writer: FactWriter, engine: Engine) -> Engine:
    writer.ingest([compact(e) for s in crafted() for e in s.events])
    return engine


def groups_of(report: ReviewReport) -> dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]]:
    return {(g.language, g.guess): [(i.text, i.reasons) for i in g.items]
            for g in report.groups}


def test_the_report_groups_messages_by_language_and_guessed_intent(loaded: Engine) -> None:
    report = review_report(loaded, RANGE, low_csat=2)
    assert groups_of(report) == {
        ("sv", "faq/shipping_times"): [
            ("frakt gotland pris mejla [e-mail]", ("fallback",)),
            (UNCLEAR_SV, ("fallback",))],
        ("en", "check_order_status"): [("parcel where", ("fallback", "clarified"))],
        ("en", "complaint"): [("the sofa came broken and nobody answers", ("low_csat",))],
    }
    assert [g.language for g in report.groups] == ["en", "en", "sv"]
    assert report.total == 4
    assert report.by_language() == {"en": 2, "sv": 2}
    assert report.by_reason() == {"fallback": 3, "clarified": 1, "low_csat": 1}
    # with no rating counted as low, the complaint (rated 1) drops out
    assert ("en", "complaint") not in groups_of(review_report(loaded, RANGE, low_csat=0))
    # another range, language or channel
    assert review_report(loaded, KpiFilter(start=date(2026, 11, 9),
                                           end=date(2026, 11, 9))).total == 0
    swedish = KpiFilter(start=RANGE.start, end=RANGE.end, language="sv")
    assert review_report(loaded, swedish).by_language() == {"sv": 2}


def test_a_marked_message_shows_its_mark(loaded: Engine) -> None:
    [item] = review_report(loaded, RANGE).groups[0].items
    mark_message(loaded, item.event_key, "check_order_status", marked_by="lena",
                 choices=["check_order_status"])
    group = review_report(loaded, RANGE).groups[0]
    assert group.items[0].mark == "check_order_status" and group.marked == 1


def test_the_command_line_prints_counts_and_no_message(loaded: Engine, analytics_url: str) -> None:
    env = {**os.environ, "ANALYTICS_DATABASE_URL": analytics_url}
    done = subprocess.run([sys.executable, "-m", "analytics.review", "--report", "--from",
                           "2026-11-02", "--to", "2026-11-08"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "conversations started 2026-11-02 to 2026-11-08: 4" in out
    assert "not understood 3, did you mean 1, low CSAT 1" in out
    row = next(line for line in out.splitlines() if "faq/shipping_times" in line)
    assert row.split()[:3] == ["sv", "faq/shipping_times", "2"]
    for text in ("gotland", "parcel where", "sofa", "example.se"):
        assert text not in out and text not in done.stderr
    bad = subprocess.run([sys.executable, "-m", "analytics.review", "--report", "--from",
                          "2026-11-09", "--to", "2026-11-01"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "before it starts" in bad.stderr
