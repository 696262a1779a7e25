"""The content page for knowledge editors and leads: unanswered questions, agents' gaps and
votes, knowledge answers per article, stale articles."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from analytics.queries import kpi_report
from dashboard.pages import filter_context, kpi_filter, page
from dashboard.security import EVERYONE, require
from dashboard.services import services
from kb_index.articles import load_articles
from kb_index.errors import KnowledgeError
from kb_index.feedback import FeedbackStore

logger = logging.getLogger(__name__)


async def content(request: Request) -> Response:
    user = require(request, EVERYONE)
    svc = services(request)
    flt = kpi_filter(request)
    report = kpi_report(svc.engine, flt)
    gaps, votes, problem = _feedback()
    articles, stale, article_problem = _articles(svc.kb_source)
    feedback = sorted(report.article_feedback.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return page(request, "content.html", user, report=report, gaps=gaps, votes=votes,
                 feedback=feedback, articles=articles, stale=stale,
                 problem=problem or article_problem, **filter_context(request, flt))


def _feedback() -> tuple[list[Any], list[Any], str | None]:
    store = FeedbackStore()
    try:
        return store.gaps()[:50], store.votes()[:50], None
    except KnowledgeError:
        logger.exception("dashboard: the knowledge feedback store is unavailable")
        return [], [], "The agents' votes and gaps are unavailable right now."
    finally:
        store.dispose()


@dataclass(frozen=True)
class ArticleLink:
    id: str
    title: str
    language: str
    url: str
    review_by: date | None
    owner: str
    days_over: int


def _articles(source: Path | None) -> tuple[dict[str, ArticleLink], list[ArticleLink],
                                            str | None]:
    if source is None:
        return {}, [], None
    today = datetime.now(timezone.utc).date()
    try:
        loaded, _problems = load_articles(source)
    except (KnowledgeError, OSError):
        logger.exception("dashboard: the knowledge articles could not be read")
        return {}, [], "The knowledge articles could not be read."
    links = {
        a.id: ArticleLink(a.id, a.title, a.language, a.url, a.review_by, a.owner,
                          (today - a.review_by).days if a.review_by else 0)
        for a in loaded
    }
    stale = sorted((links[a.id] for a in loaded if a.is_stale(today)),
                   key=lambda x: (x.review_by or today, x.id))
    return links, stale, None
