"""Conversation review: the conversation list, transcripts, marks, the review report and the
export of the marks as training data."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from analytics.kpis import KpiFilter
from analytics.queries import (
    REVIEW_FILTERS,
    ReviewFilter,
    get_conversation,
    review_list,
    transcript,
)
from analytics.review import ExportResult, ReviewError, export, mark_message, marks
from analytics.review import unmark_message as unmark
from analytics.review_report import REASON_LABELS, REASONS, review_report
from dashboard.auth import User
from dashboard.pages import filter_context, filter_query, kpi_filter, page
from dashboard.security import EVERYONE, LEAD, HttpProblem, check_csrf, require, safe_next
from dashboard.services import services
from nordvik.env import REPO_ROOT
from nordvik.text import redact_emails


def _review_filter(request: Request, flt: KpiFilter) -> ReviewFilter:
    show = tuple(v for v in request.query_params.getlist("show") if v)
    try:
        return ReviewFilter(kpi=flt, show=show,
                            low_csat=services(request).settings.analytics.low_csat)
    except ValueError as exc:
        raise HttpProblem(400, str(exc)) from exc


async def conversations(request: Request) -> Response:
    user = require(request, EVERYONE)
    flt = kpi_filter(request)
    review = _review_filter(request, flt)
    found = review_list(services(request).engine, review)
    context = filter_context(request, flt)
    context["query"] = filter_query(flt) + "".join(f"&show={s}" for s in review.show)
    return page(request, "conversations.html", user, conversations=found, review=review,
                 review_filters=REVIEW_FILTERS, mask=redact_emails, **context)


async def conversation(request: Request) -> Response:
    user = require(request, EVERYONE)
    svc = services(request)
    found = get_conversation(svc.engine, request.path_params["conversation_id"][:64])
    if found is None:
        raise HttpProblem(404, "no such conversation")
    lines = transcript(svc.engine, found)
    return page(request, "transcript.html", user, conversation=found, lines=lines,
                 intents=svc.intents(), mask=redact_emails,
                 back=safe_next(request.query_params.get("back"), "/conversations"))


async def mark(request: Request) -> Response:
    user = require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    svc = services(request)
    try:
        mark_message(svc.engine, str(form.get("event_key") or ""),
                     str(form.get("intent") or ""), marked_by=user.name,
                     choices=svc.intents())
    except ReviewError as exc:
        raise HttpProblem(400, str(exc)) from exc
    return RedirectResponse(safe_next(str(form.get("next") or ""), "/review"), 303)


async def unmark_view(request: Request) -> Response:
    require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    unmark(services(request).engine, str(form.get("event_key") or ""))
    return RedirectResponse(safe_next(str(form.get("next") or ""), "/review"), 303)


def _review_page(request: Request, user: User, result: ExportResult | None) -> Response:
    """The marks and the review report; the report's message texts only for a team lead."""
    svc = services(request)
    flt = kpi_filter(request)
    report = review_report(svc.engine, flt, low_csat=svc.settings.analytics.low_csat)
    return page(request, "review.html", user, marks=marks(svc.engine),
                 review_file=display_path(svc.review_file), result=result, report=report,
                 show_texts=user.role == LEAD, reason_labels=REASON_LABELS, reasons=REASONS,
                 **filter_context(request, flt))


async def review(request: Request) -> Response:
    user = require(request, EVERYONE)
    return _review_page(request, user, None)


async def review_export(request: Request) -> Response:
    user = require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    svc = services(request)
    try:
        result = export(svc.engine, svc.review_file, data_dir=svc.data_dir)
    except ReviewError as exc:
        raise HttpProblem(500, str(exc)) from exc
    return _review_page(request, user, result)


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
