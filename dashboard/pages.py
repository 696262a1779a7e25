"""Rendering a page: the filters from the query string and the context every template gets."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from analytics import mapping, plots
from analytics.formatting import DASH, duration, number, pct
from analytics.kpis import GRANULARITIES, KpiFilter
from analytics.queries import facet_values
from dashboard.auth import User
from dashboard.security import HttpProblem, csrf_token
from dashboard.services import services
from nordvik.languages import LANGUAGE_NAMES

DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366


# --- filters ------------------------------------------------------------------------------
def _date(params: QueryParams, key: str, default: date) -> date:
    raw = (params.get(key) or "").strip()
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise HttpProblem(400, f"{key}={raw[:40]!r} is not a date like 2026-11-30") from exc


def kpi_filter(request: Request) -> KpiFilter:
    params = request.query_params
    today = datetime.now(timezone.utc).date()
    end = _date(params, "to", today)
    start = _date(params, "from", end - timedelta(days=DEFAULT_DAYS - 1))
    if (end - start).days > MAX_DAYS:
        raise HttpProblem(400, f"the date range is longer than {MAX_DAYS} days")
    granularity = params.get("granularity") or ("hour" if start == end else "day")
    if granularity not in GRANULARITIES:
        raise HttpProblem(400, f"granularity must be one of {', '.join(GRANULARITIES)}")
    channel = (params.get("channel") or "").strip()[:60] or None
    language = (params.get("language") or "").strip()[:10] or None
    try:
        return KpiFilter(start=start, end=end, channel=channel, language=language,
                         granularity=granularity)
    except ValueError as exc:
        raise HttpProblem(400, str(exc)) from exc


def filter_query(flt: KpiFilter, **extra: str) -> str:
    values = {"from": flt.start.isoformat(), "to": flt.end.isoformat(),
              "granularity": flt.granularity}
    if flt.channel:
        values["channel"] = flt.channel
    if flt.language:
        values["language"] = flt.language
    values.update(extra)
    return urlencode(values)


def page(request: Request, template: str, user: User, **context: Any) -> Response:
    svc = services(request)
    response = svc.templates.TemplateResponse(request, template, {
        "user": user, "csrf_token": csrf_token(request), "path": request.url.path,
        "pct": pct, "number": number, "duration": duration, "dash": DASH,
        "channel_label": mapping.channel_label, "language_names": LANGUAGE_NAMES,
        "outcome_labels": plots.OUTCOME_LABELS, "when": when, **context,
    })
    return response


def when(ts: float | None) -> str:
    if ts is None:
        return DASH
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def filter_context(request: Request, flt: KpiFilter) -> dict[str, Any]:
    channels, languages = facet_values(services(request).engine)
    return {"flt": flt, "channels": channels, "languages": languages,
            "granularities": GRANULARITIES, "query": filter_query(flt)}
