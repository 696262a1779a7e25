"""The team lead's KPI overview: tiles, plots and the CSV exports."""

from __future__ import annotations

import csv
import io
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from analytics import plots
from analytics.formatting import duration, kpi_rows, number, pct
from analytics.kpis import Kpis
from analytics.queries import ReviewFilter, kpi_report, review_list
from dashboard.pages import filter_context, kpi_filter, page, when
from dashboard.security import LEAD, HttpProblem, require
from dashboard.services import services


async def overview(request: Request) -> Response:
    user = require(request, (LEAD,))
    flt = kpi_filter(request)
    report = kpi_report(services(request).engine, flt)
    return page(request, "overview.html", user, report=report, rows=kpi_rows(report.total),
                 tiles=_tiles(report.total), plot_names=plots.PLOTS, **filter_context(request,
                                                                                   flt))


def _tiles(k: Kpis) -> list[tuple[str, str, str, str]]:
    """(key, title, value, detail) of the KPI tiles; the keys are stable (tests read them)."""
    return [
        ("conversations", "Conversations", str(k.conversations),
         f"{k.customer_messages} customer messages"),
        ("containment", "Containment", pct(k.containment), f"{k.bot_resolved} bot-only"),
        ("abandoned", "Abandoned", pct(k.abandonment_rate),
         f"{k.abandoned} left mid-task"),
        ("handoff_rate", "Handoff rate", pct(k.handoff_rate),
         f"{k.handoffs} asked, {k.handoffs_connected} reached"),
        ("fallback_rate", "Fallback rate", pct(k.fallback_rate),
         f"{k.fallback_messages} messages"),
        ("knowledge_helpfulness", "Knowledge helped", pct(k.knowledge_helpfulness),
         f"{k.knowledge_helpful} yes / {k.knowledge_not_helpful} no"),
        ("csat_mean", "CSAT", number(k.csat_mean), f"{k.csat_ratings} ratings"),
        ("csat_response_rate", "CSAT response rate", pct(k.csat_response_rate),
         f"{k.csat_asked} asked"),
        ("first_response_median", "First response", duration(k.first_response.median),
         f"p90 {duration(k.first_response.p90)}"),
        ("resolution_median", "Resolution", duration(k.resolution.median),
         f"p90 {duration(k.resolution.p90)}"),
    ]


async def plot(request: Request) -> Response:
    require(request, (LEAD,))
    name = request.path_params["name"]
    if name not in plots.PLOTS:
        raise HttpProblem(404, "no such plot")
    flt = kpi_filter(request)
    report = kpi_report(services(request).engine, flt)
    image = plots.render(name, report)
    return Response(image, media_type="image/png")


def _csv(rows: list[list[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return Response(buffer.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def _cell(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


async def kpis_csv(request: Request) -> Response:
    require(request, (LEAD,))
    flt = kpi_filter(request)
    report = kpi_report(services(request).engine, flt)
    header = ["bucket", "conversations", "customer_messages", "containment", "abandonment_rate",
              "handoff_rate", "fallback_rate", "knowledge_helpfulness", "csat_mean", "csat_ratings",
              "csat_response_rate", "first_response_median_s", "first_response_p90_s",
              "resolution_median_s", "resolution_p90_s"]
    rows: list[list[Any]] = [header]
    for label, k in [(b.label, b.kpis) for b in report.series] + [("total", report.total)]:
        rows.append([label, k.conversations, k.customer_messages, _cell(k.containment),
                     _cell(k.abandonment_rate), _cell(k.handoff_rate), _cell(k.fallback_rate),
                     _cell(k.knowledge_helpfulness), _cell(k.csat_mean), k.csat_ratings,
                     _cell(k.csat_response_rate), _cell(k.first_response.median, 1),
                     _cell(k.first_response.p90, 1), _cell(k.resolution.median, 1),
                     _cell(k.resolution.p90, 1)])
    return _csv(rows, f"kpis_{flt.start}_{flt.end}.csv")


async def conversations_csv(request: Request) -> Response:
    require(request, (LEAD,))
    flt = kpi_filter(request)
    found = review_list(services(request).engine, ReviewFilter(kpi=flt), limit=100_000)
    rows: list[list[Any]] = [["conversation", "started_utc", "channel", "language",
                              "customer_messages", "fallback_messages", "outcome",
                              "handoff", "first_response_s", "resolution_s", "csat"]]
    for c in found:
        rows.append([c.conversation_id, when(c.started_at), c.channel, c.language,
                     c.customer_turns, c.fallback_turns, c.outcome, int(c.handoff_requested),
                     _cell(c.first_response_s, 1), _cell(c.resolution_s, 1),
                     "" if c.csat_rating is None else c.csat_rating])
    return _csv(rows, f"conversations_{flt.start}_{flt.end}.csv")
