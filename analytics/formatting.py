"""How KPI values read, the same in reports/kpi.md, the dashboard and its CSV export."""

from __future__ import annotations

from analytics.kpis import Kpis

DASH = "–"


def pct(value: float | None) -> str:
    return DASH if value is None else f"{value * 100:.1f} %"


def number(value: float | None, digits: int = 2) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def duration(seconds: float | None) -> str:
    """42 s, 3.5 min, 2.1 h."""
    if seconds is None:
        return DASH
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def kpi_rows(k: Kpis) -> list[tuple[str, str, str]]:
    """(name, value, detail) for every KPI, in the order people read them."""
    dist = " · ".join(f"{s}★ {k.csat_distribution.get(s, 0)}" for s in range(1, 6))
    return [
        ("Conversations", str(k.conversations), f"{k.customer_messages} customer messages"),
        ("Containment", pct(k.containment), f"{k.bot_resolved} resolved by the bot alone"),
        ("Abandoned", pct(k.abandonment_rate),
         f"{k.abandoned} left with a task not finished"),
        ("Handoff rate", pct(k.handoff_rate),
         f"{k.handoffs} asked for a person, {k.handoffs_connected} reached one"),
        ("Fallback rate", pct(k.fallback_rate),
         f"{k.fallback_messages} messages not understood"),
        ("Knowledge helpfulness", pct(k.knowledge_helpfulness),
         f"{k.knowledge_helpful} yes / {k.knowledge_not_helpful} no, {k.knowledge_answers} "
         f"answers, {k.knowledge_not_found} not found"),
        ("CSAT mean", number(k.csat_mean), f"{k.csat_ratings} ratings: {dist}"),
        ("CSAT response rate", pct(k.csat_response_rate), f"{k.csat_asked} asked"),
        ("First response (median)", duration(k.first_response.median),
         f"p90 {duration(k.first_response.p90)}, n={k.first_response.count}"),
        ("Resolution (median)", duration(k.resolution.median),
         f"p90 {duration(k.resolution.p90)}, n={k.resolution.count}"),
    ]
