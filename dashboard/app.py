"""The dashboard's web app (Starlette + Jinja2).

Every page and file with data needs a login: without one, a page request is redirected to
/login and anything else (plots, CSV, POSTs) gets 401; a signed-in user without the role gets
403. Sessions are signed cookies (Starlette's SessionMiddleware, secret from nordvik.secrets),
SameSite=strict, ended by a password or role change. Every POST carries the session's CSRF
token. Logins are throttled per account and per client address. Pages send no-store and a
strict Content-Security-Policy (no scripts at all; plots are PNGs drawn on the server).
"""

from __future__ import annotations

import csv
import io
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.datastructures import FormData, QueryParams
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from analytics import mapping, plots
from analytics.db import AnalyticsUnavailable
from analytics.formatting import DASH, duration, kpi_rows, number, pct
from analytics.kpis import GRANULARITIES, KpiFilter
from analytics.queries import (
    REVIEW_FILTERS,
    ReviewFilter,
    facet_values,
    get_conversation,
    kpi_report,
    review_list,
    transcript,
)
from analytics.review import ReviewError, export, intent_choices, mark_message, marks
from analytics.review import unmark_message as unmark
from dashboard.auth import LoginThrottle, User, UserStore
from dashboard.settings import DashboardSettings
from nordvik.emails import redact_emails
from nordvik.languages import LANGUAGE_NAMES

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
LEAD, EDITOR = "lead", "editor"
EVERYONE = (LEAD, EDITOR)
SESSION_COOKIE = "nordvik_dashboard"
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class HttpProblem(Exception):
    """Stop a request with this status and a plain message (no data)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Services:
    settings: DashboardSettings
    engine: Engine
    users: UserStore
    throttle: LoginThrottle
    templates: Jinja2Templates
    review_file: Path
    domain_dir: Path
    kb_source: Path | None
    data_dir: Path

    def intents(self) -> list[str]:
        return intent_choices(self.domain_dir)


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


# --- sessions, roles, CSRF --------------------------------------------------------------------
def current_user(request: Request) -> User | None:
    session = request.session
    name = session.get("user")
    if not isinstance(name, str):
        return None
    user = _services(request).users.get(name)
    issued = session.get("issued_at")
    if user is None or not isinstance(issued, (int, float)) or user.updated_at > issued \
            or user.role != session.get("role"):
        session.clear()
        return None
    return user


def _wants_page(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def require(request: Request, roles: tuple[str, ...]) -> User:
    user = current_user(request)
    if user is None:
        if _wants_page(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HttpProblem(303, "/login?" + urlencode({"next": target}))
        raise HttpProblem(401, "login required")
    if user.role not in roles:
        raise HttpProblem(403, "your role does not allow this page")
    return user


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, form: FormData) -> None:
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) \
            or not secrets.compare_digest(sent, expected):
        raise HttpProblem(403, "the form expired or did not come from this dashboard; "
                               "reload the page and try again")


def _safe_next(target: str | None, fallback: str) -> str:
    """Only local paths: never redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def _home(user: User) -> str:
    return "/overview" if user.role == LEAD else "/content"


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


def _page(request: Request, template: str, user: User, **context: Any) -> Response:
    services = _services(request)
    response = services.templates.TemplateResponse(request, template, {
        "user": user, "csrf_token": csrf_token(request), "path": request.url.path,
        "pct": pct, "number": number, "duration": duration, "dash": DASH,
        "channel_label": mapping.channel_label, "language_names": LANGUAGE_NAMES,
        "outcome_labels": plots.OUTCOME_LABELS, "when": _when, **context,
    })
    return response


def _when(ts: float | None) -> str:
    if ts is None:
        return DASH
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _filter_context(request: Request, flt: KpiFilter) -> dict[str, Any]:
    channels, languages = facet_values(_services(request).engine)
    return {"flt": flt, "channels": channels, "languages": languages,
            "granularities": GRANULARITIES, "query": filter_query(flt)}


# --- pages ----------------------------------------------------------------------------------
async def home(request: Request) -> Response:
    user = require(request, EVERYONE)
    return RedirectResponse(_home(user), status_code=303)


async def login_page(request: Request) -> Response:
    services = _services(request)
    user = current_user(request)
    if user is not None:
        return RedirectResponse(_safe_next(request.query_params.get("next"), _home(user)), 303)
    return services.templates.TemplateResponse(request, "login.html", {
        "csrf_token": csrf_token(request), "next": request.query_params.get("next") or "",
        "error": None, "user": None, "path": "/login"})


async def login(request: Request) -> Response:
    services = _services(request)
    form = await request.form()
    check_csrf(request, form)
    name = str(form.get("name") or "")[:100]
    password = str(form.get("password") or "")
    client = request.client.host if request.client else "unknown"
    wait = services.throttle.retry_after(name, client)

    def again(message: str, status: int) -> Response:
        return services.templates.TemplateResponse(request, "login.html", {
            "csrf_token": csrf_token(request), "next": str(form.get("next") or ""),
            "error": message, "user": None, "path": "/login"}, status_code=status)

    if wait > 0:
        logger.warning("dashboard login refused: too many failed attempts")
        response = again(f"Too many failed logins. Try again in {int(wait) + 1} seconds.", 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = services.users.authenticate(name, password)
    if user is None:
        services.throttle.failed(name, client)
        logger.info("dashboard login failed")
        return again("Wrong user name or password.", 401)
    services.throttle.succeeded(name)
    request.session.clear()
    request.session.update({"user": user.name, "role": user.role, "issued_at": time.time(),
                            "csrf": secrets.token_urlsafe(32)})
    logger.info("dashboard login (%s)", user.role)
    return RedirectResponse(_safe_next(str(form.get("next") or ""), _home(user)), 303)


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def overview(request: Request) -> Response:
    user = require(request, (LEAD,))
    flt = kpi_filter(request)
    report = kpi_report(_services(request).engine, flt)
    return _page(request, "overview.html", user, report=report, rows=kpi_rows(report.total),
                 tiles=_tiles(report.total), plot_names=plots.PLOTS, **_filter_context(request,
                                                                                   flt))


def _tiles(k: Any) -> list[tuple[str, str, str, str]]:
    """(key, title, value, detail) of the KPI tiles; the keys are stable (tests read them)."""
    return [
        ("conversations", "Conversations", str(k.conversations),
         f"{k.customer_messages} customer messages"),
        ("containment", "Containment", pct(k.containment), f"{k.bot_resolved} bot-only"),
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
    report = kpi_report(_services(request).engine, flt)
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
    report = kpi_report(_services(request).engine, flt)
    header = ["bucket", "conversations", "customer_messages", "containment", "handoff_rate",
              "fallback_rate", "knowledge_helpfulness", "csat_mean", "csat_ratings",
              "csat_response_rate", "first_response_median_s", "first_response_p90_s",
              "resolution_median_s", "resolution_p90_s"]
    rows: list[list[Any]] = [header]
    for label, k in [(b.label, b.kpis) for b in report.series] + [("total", report.total)]:
        rows.append([label, k.conversations, k.customer_messages, _cell(k.containment),
                     _cell(k.handoff_rate), _cell(k.fallback_rate),
                     _cell(k.knowledge_helpfulness), _cell(k.csat_mean), k.csat_ratings,
                     _cell(k.csat_response_rate), _cell(k.first_response.median, 1),
                     _cell(k.first_response.p90, 1), _cell(k.resolution.median, 1),
                     _cell(k.resolution.p90, 1)])
    return _csv(rows, f"kpis_{flt.start}_{flt.end}.csv")


async def conversations_csv(request: Request) -> Response:
    require(request, (LEAD,))
    flt = kpi_filter(request)
    found = review_list(_services(request).engine, ReviewFilter(kpi=flt), limit=100_000)
    rows: list[list[Any]] = [["conversation", "started_utc", "channel", "language",
                              "customer_messages", "fallback_messages", "outcome",
                              "handoff", "first_response_s", "resolution_s", "csat"]]
    for c in found:
        rows.append([c.conversation_id, _when(c.started_at), c.channel, c.language,
                     c.customer_turns, c.fallback_turns, c.outcome, int(c.handoff_requested),
                     _cell(c.first_response_s, 1), _cell(c.resolution_s, 1),
                     "" if c.csat_rating is None else c.csat_rating])
    return _csv(rows, f"conversations_{flt.start}_{flt.end}.csv")


def _review_filter(request: Request, flt: KpiFilter) -> ReviewFilter:
    show = tuple(v for v in request.query_params.getlist("show") if v)
    try:
        return ReviewFilter(kpi=flt, show=show,
                            low_csat=_services(request).settings.analytics.low_csat)
    except ValueError as exc:
        raise HttpProblem(400, str(exc)) from exc


async def conversations(request: Request) -> Response:
    user = require(request, EVERYONE)
    flt = kpi_filter(request)
    review = _review_filter(request, flt)
    found = review_list(_services(request).engine, review)
    context = _filter_context(request, flt)
    context["query"] = filter_query(flt) + "".join(f"&show={s}" for s in review.show)
    return _page(request, "conversations.html", user, conversations=found, review=review,
                 review_filters=REVIEW_FILTERS, mask=redact_emails, **context)


async def conversation(request: Request) -> Response:
    user = require(request, EVERYONE)
    services = _services(request)
    found = get_conversation(services.engine, request.path_params["conversation_id"][:64])
    if found is None:
        raise HttpProblem(404, "no such conversation")
    lines = transcript(services.engine, found)
    return _page(request, "transcript.html", user, conversation=found, lines=lines,
                 intents=services.intents(), mask=redact_emails,
                 back=_safe_next(request.query_params.get("back"), "/conversations"))


async def mark(request: Request) -> Response:
    user = require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    services = _services(request)
    try:
        mark_message(services.engine, str(form.get("event_key") or ""),
                     str(form.get("intent") or ""), marked_by=user.name,
                     choices=services.intents())
    except ReviewError as exc:
        raise HttpProblem(400, str(exc)) from exc
    return RedirectResponse(_safe_next(str(form.get("next") or ""), "/review"), 303)


async def unmark_view(request: Request) -> Response:
    require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    unmark(_services(request).engine, str(form.get("event_key") or ""))
    return RedirectResponse(_safe_next(str(form.get("next") or ""), "/review"), 303)


async def review(request: Request) -> Response:
    user = require(request, EVERYONE)
    services = _services(request)
    return _page(request, "review.html", user, marks=marks(services.engine),
                 review_file=_display_path(services.review_file), result=None)


async def review_export(request: Request) -> Response:
    user = require(request, EVERYONE)
    form = await request.form()
    check_csrf(request, form)
    services = _services(request)
    try:
        result = export(services.engine, services.review_file, data_dir=services.data_dir)
    except ReviewError as exc:
        raise HttpProblem(500, str(exc)) from exc
    return _page(request, "review.html", user, marks=marks(services.engine),
                 review_file=_display_path(services.review_file), result=result)


def _display_path(path: Path) -> str:
    from nordvik.env import REPO_ROOT

    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


async def content(request: Request) -> Response:
    user = require(request, EVERYONE)
    services = _services(request)
    flt = kpi_filter(request)
    report = kpi_report(services.engine, flt)
    gaps, votes, problem = _feedback()
    articles, stale, article_problem = _articles(services.kb_source)
    feedback = sorted(report.article_feedback.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return _page(request, "content.html", user, report=report, gaps=gaps, votes=votes,
                 feedback=feedback, articles=articles, stale=stale,
                 problem=problem or article_problem, **_filter_context(request, flt))


def _feedback() -> tuple[list[Any], list[Any], str | None]:
    from kb_index.errors import KnowledgeError
    from kb_index.feedback import FeedbackStore

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
    from kb_index.articles import load_articles
    from kb_index.errors import KnowledgeError

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


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


# --- the app --------------------------------------------------------------------------------
def _problem_page(request: Request, problem: HttpProblem) -> Response:
    if problem.status == 303:
        return RedirectResponse(problem.message, status_code=303)
    return PlainTextResponse(problem.message, status_code=problem.status)


class _Guard:
    """Problems to responses, security headers on everything, no caching of data."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wrap(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request],
                                                                          Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HttpProblem as problem:
            return _problem_page(request, problem)
        except AnalyticsUnavailable:
            logger.exception("dashboard: the analytics database is unavailable")
            return PlainTextResponse("The analytics database is unavailable right now.", 503)

    return wrapped


def create_app(settings: DashboardSettings | None = None, *, engine: Engine | None = None,
               kb_source: Path | None = None, domain_dir: Path | None = None,
               data_dir: Path | None = None) -> Starlette:
    from analytics.db import get_engine
    from nordvik.env import REPO_ROOT

    settings = settings or DashboardSettings.from_env()
    engine = engine or get_engine(settings.analytics)
    if kb_source is None:
        from kb_index.settings import KbSettings

        kb_source = KbSettings.from_env().source
    services = Services(
        settings=settings, engine=engine, users=UserStore(engine),
        throttle=LoginThrottle(settings.login_max_failures, settings.login_window_s),
        templates=Jinja2Templates(directory=str(HERE / "templates")),
        review_file=settings.analytics.review_file,
        domain_dir=domain_dir or REPO_ROOT / "domain", kb_source=kb_source,
        data_dir=data_dir or REPO_ROOT / "data",
    )
    pages: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/", home, ["GET"]),
        ("/login", login_page, ["GET"]),
        ("/login", login, ["POST"]),
        ("/logout", logout, ["POST"]),
        ("/overview", overview, ["GET"]),
        ("/plots/{name}.png", plot, ["GET"]),
        ("/export/kpis.csv", kpis_csv, ["GET"]),
        ("/export/conversations.csv", conversations_csv, ["GET"]),
        ("/conversations", conversations, ["GET"]),
        ("/conversations/{conversation_id}", conversation, ["GET"]),
        ("/review", review, ["GET"]),
        ("/review/mark", mark, ["POST"]),
        ("/review/unmark", unmark_view, ["POST"]),
        ("/review/export", review_export, ["POST"]),
        ("/content", content, ["GET"]),
        ("/healthz", healthz, ["GET"]),
    ]
    routes: list[Any] = [Route(path, _wrap(fn), methods=methods) for path, fn, methods in pages]
    routes.append(Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"))
    app = Starlette(routes=routes, middleware=[
        Middleware(_Guard),
        Middleware(SessionMiddleware, secret_key=settings.session_secret,
                   session_cookie=SESSION_COOKIE, max_age=settings.session_hours * 3600,
                   same_site="strict", https_only=settings.secure_cookies),
    ])
    app.state.services = services
    return app


PUBLIC_PATHS = ("/login", "/logout", "/healthz")  # no data behind them
