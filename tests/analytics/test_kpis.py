"""KPIs on the ten crafted conversations (tests/analytics/crafted.py), through the real writer
and database: containment, handoff rate, fallback rate, knowledge helpfulness, CSAT, first
response and resolution times, buckets, filters, top intents and unanswered questions."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.kpis import KpiFilter, percentile
from analytics.queries import kpi_report, load_conversations
from tests.analytics.crafted import all_events, conversations, event_time

WEEK = KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 8))
TWO_WEEKS = KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 15))


@pytest.fixture()
def loaded(writer: FactWriter, engine: Engine) -> Engine:
    result = writer.ingest([compact(e) for e in all_events()])
    assert result.duplicates == 0 and result.senders == 10
    return engine


def test_kpis_of_the_crafted_conversations(loaded: Engine) -> None:
    k = kpi_report(loaded, TWO_WEEKS).total
    assert k.conversations == 10
    # bot_resolved: c01 FAQ, c02 order, c05 helpful article, c09 order, c10 article not rejected
    assert k.bot_resolved == 5 and k.containment == pytest.approx(0.5)
    assert k.abandoned == 0 and k.abandonment_rate == pytest.approx(0.0)
    # a person asked for: c03, c04 (none reachable), c06 (two-stage gave up), c08
    assert k.handoffs == 4 and k.handoff_rate == pytest.approx(0.4)
    assert k.handoffs_connected == 3
    assert k.outcomes == {"bot_resolved": 5, "agent_resolved": 2, "handoff_open": 1,
                          "handoff_unavailable": 1, "abandoned": 0, "unresolved": 1}
    # customer messages 3+7+4+1+2+5+1+2+5+1 = 31; not understood: c05, c06 twice, c08, c10
    assert (k.customer_messages, k.fallback_messages) == (31, 5)
    assert k.fallback_rate == pytest.approx(5 / 31)
    # knowledge: answers in c05 (helped), c08 (a person asked for instead), c10 (no answer)
    assert (k.knowledge_answers, k.knowledge_not_found) == (3, 2)  # c06 found nothing twice
    assert (k.knowledge_helpful, k.knowledge_not_helpful) == (1, 1)
    assert k.knowledge_helpfulness == pytest.approx(0.5)
    # CSAT: c02 5, c03 4, c06 2 rated; c09 asked and skipped
    assert (k.csat_asked, k.csat_ratings) == (4, 3)
    assert k.csat_mean == pytest.approx(11 / 3)
    assert k.csat_response_rate == pytest.approx(0.75)
    assert k.csat_distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}


def test_first_response_and_resolution_times_of_handed_off_conversations(loaded: Engine) -> None:
    scripts = conversations()
    c03, c06 = scripts["c03"], scripts["c06"]
    asked = {
        "c03": event_time(c03, event="action", name="action_handoff_to_human"),
        "c06": event_time(c06, event="action", name="action_handoff_to_human"),
    }
    first = [event_time(s, event="user", intent="EXTERNAL_agent_message") - asked[n]
             for n, s in (("c03", c03), ("c06", c06))]
    closed = [event_time(s, event="user", intent="EXTERNAL_handoff_closed") - asked[n]
              for n, s in (("c03", c03), ("c06", c06))]
    k = kpi_report(loaded, TWO_WEEKS).total
    # c08 reached a person who has not answered yet: not in either distribution
    assert k.first_response.count == 2 and k.resolution.count == 2
    assert k.first_response.median == pytest.approx(float(np.median(first)))
    assert k.first_response.p90 == pytest.approx(float(np.percentile(first, 90)))
    assert k.resolution.median == pytest.approx(float(np.median(closed)))
    assert k.resolution.p90 == pytest.approx(float(np.percentile(closed, 90)))
    # the crafted timeline: replies after 90 s and 30 s, closes after 600 s and 330 s
    assert k.first_response.median == pytest.approx(60.0, abs=0.1)
    assert k.first_response.p90 == pytest.approx(84.0, abs=0.1)
    assert k.resolution.median == pytest.approx(465.0, abs=0.1)


def test_buckets_by_day_and_week(loaded: Engine) -> None:
    daily = kpi_report(loaded, WEEK).series
    assert [b.label for b in daily][:3] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert len(daily) == 7
    assert [b.kpis.conversations for b in daily] == [8, 1, 0, 0, 0, 0, 0]
    assert daily[2].kpis.containment is None  # no conversations: no rate, not 0
    weekly = kpi_report(loaded, KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 15),
                                          granularity="week")).series
    assert [(b.label, b.kpis.conversations) for b in weekly] == [("2026-W45", 9),
                                                                 ("2026-W46", 1)]
    assert weekly[0].kpis.containment == pytest.approx(4 / 9)
    hourly = kpi_report(loaded, KpiFilter(start=date(2026, 11, 2), end=date(2026, 11, 2),
                                          granularity="hour")).series
    # c01-c06 start between 09:00 and 09:50, c07 and c08 at 10:00 and 10:10
    assert len(hourly) == 24
    assert [b.kpis.conversations for b in hourly[8:12]] == [0, 6, 2, 0]


def test_filters_by_channel_and_language(loaded: Engine) -> None:
    web = kpi_report(loaded, KpiFilter(start=WEEK.start, end=WEEK.end, channel="socketio"))
    assert web.total.conversations == 2 and web.total.handoff_rate == pytest.approx(1.0)
    swedish = kpi_report(loaded, KpiFilter(start=TWO_WEEKS.start, end=TWO_WEEKS.end,
                                           language="sv")).total
    assert swedish.conversations == 2 and swedish.knowledge_helpfulness == pytest.approx(1.0)
    report = kpi_report(loaded, TWO_WEEKS)
    assert {k: v.conversations for k, v in report.by_language.items()} == {
        "en": 5, "nb": 2, "sv": 2, "zh": 1}
    assert {k: v.conversations for k, v in report.by_channel.items()} == {
        "rest": 8, "socketio": 2}
    assert load_conversations(loaded, KpiFilter(start=date(2026, 11, 3), end=date(2026, 11, 3))
                              )[0].sender_id == "c09"


def test_top_intents_and_unanswered_questions(loaded: Engine) -> None:
    report = kpi_report(loaded, TWO_WEEKS)
    intents = dict(report.top_intents)
    assert intents["inform"] == 4 and intents["greet"] == 4  # c01, c02, c03, c07
    assert intents["request_human"] == 3  # c03, c04 and the button in c08
    # not understood: c05, c06 twice, c08's question, c10
    assert report.top_intents[0] == ("nlu_fallback", 5)
    assert intents["csat_skip"] == 4  # three comments and one rating skipped
    unanswered = {(text, lang): n for text, lang, n in report.top_unanswered}
    assert unanswered == {("我的包裹什麼時候到", "zh"): 1, ("包裹還沒到", "zh"): 1,
                          ("hvor lang tid tar frakten", "nb"): 1}
    assert report.article_feedback == {"returns-policy": (1, 0), "shipping-nordics": (0, 1),
                                       "exchanges": (0, 0)}


def test_an_empty_range_has_no_rates() -> None:
    from analytics.kpis import compute

    empty = compute([])
    assert empty.conversations == 0
    assert empty.containment is None and empty.csat_mean is None
    assert empty.first_response.median is None


@pytest.mark.parametrize("values", [[5.0], [1.0, 2.0], [3.0, 1.0, 2.0, 10.0], list(range(17))])
@pytest.mark.parametrize("q", [0, 10, 50, 90, 100])
def test_percentile_matches_numpy(values: list[float], q: int) -> None:
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_a_range_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before it starts"):
        KpiFilter(start=date(2026, 11, 5), end=date(2026, 11, 4))
    with pytest.raises(ValueError, match="granularity"):
        KpiFilter(start=date(2026, 11, 5), end=date(2026, 11, 5), granularity="month")
