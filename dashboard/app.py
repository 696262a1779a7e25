"""The dashboard's web app (Starlette + Jinja2): logins and the routes.

The pages live by concern: overview.py (KPIs, plots, CSV), review_pages.py (conversations,
transcripts, marks, the review report, the export), content.py (knowledge content). Every page
and file with data needs a login (security.py: roles, CSRF, headers); sessions are signed cookies
(Starlette's SessionMiddleware), SameSite=strict, ended by a password or role change. Logins are
throttled per account and per client address.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from analytics.db import get_engine
from dashboard import content, overview, review_pages
from dashboard.auth import LoginThrottle, UserStore
from dashboard.security import (
    EVERYONE,
    Guard,
    check_csrf,
    csrf_token,
    current_user,
    home_of,
    require,
    safe_next,
    wrap,
)
from dashboard.services import Services, services
from dashboard.settings import DashboardSettings
from kb_index.settings import KbSettings
from nordvik.env import REPO_ROOT

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "nordvik_dashboard"


async def home(request: Request) -> Response:
    user = require(request, EVERYONE)
    return RedirectResponse(home_of(user), status_code=303)


async def login_page(request: Request) -> Response:
    svc = services(request)
    user = current_user(request)
    if user is not None:
        return RedirectResponse(safe_next(request.query_params.get("next"), home_of(user)), 303)
    return svc.templates.TemplateResponse(request, "login.html", {
        "csrf_token": csrf_token(request), "next": request.query_params.get("next") or "",
        "error": None, "user": None, "path": "/login"})


async def login(request: Request) -> Response:
    svc = services(request)
    form = await request.form()
    check_csrf(request, form)
    name = str(form.get("name") or "")[:100]
    password = str(form.get("password") or "")
    client = request.client.host if request.client else "unknown"
    wait = svc.throttle.retry_after(name, client)

    def again(message: str, status: int) -> Response:
        return svc.templates.TemplateResponse(request, "login.html", {
            "csrf_token": csrf_token(request), "next": str(form.get("next") or ""),
            "error": message, "user": None, "path": "/login"}, status_code=status)

    if wait > 0:
        logger.warning("dashboard login refused: too many failed attempts")
        response = again(f"Too many failed logins. Try again in {int(wait) + 1} seconds.", 429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = svc.users.authenticate(name, password)
    if user is None:
        svc.throttle.failed(name, client)
        logger.info("dashboard login failed")
        return again("Wrong user name or password.", 401)
    svc.throttle.succeeded(name)
    request.session.clear()
    request.session.update({"user": user.name, "role": user.role, "issued_at": time.time(),
                            "csrf": secrets.token_urlsafe(32)})
    logger.info("dashboard login (%s)", user.role)
    return RedirectResponse(safe_next(str(form.get("next") or ""), home_of(user)), 303)


async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def create_app(settings: DashboardSettings | None = None, *, engine: Engine | None = None,
               kb_source: Path | None = None, domain_dir: Path | None = None,
               data_dir: Path | None = None) -> Starlette:
    settings = settings or DashboardSettings.from_env()
    engine = engine or get_engine(settings.analytics)
    if kb_source is None:
        kb_source = KbSettings.from_env().source
    state = Services(
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
        ("/overview", overview.overview, ["GET"]),
        ("/plots/{name}.png", overview.plot, ["GET"]),
        ("/export/kpis.csv", overview.kpis_csv, ["GET"]),
        ("/export/conversations.csv", overview.conversations_csv, ["GET"]),
        ("/conversations", review_pages.conversations, ["GET"]),
        ("/conversations/{conversation_id}", review_pages.conversation, ["GET"]),
        ("/review", review_pages.review, ["GET"]),
        ("/review/mark", review_pages.mark, ["POST"]),
        ("/review/unmark", review_pages.unmark_view, ["POST"]),
        ("/review/export", review_pages.review_export, ["POST"]),
        ("/content", content.content, ["GET"]),
        ("/healthz", healthz, ["GET"]),
    ]
    routes: list[Any] = [Route(path, wrap(fn), methods=methods) for path, fn, methods in pages]
    routes.append(Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"))
    app = Starlette(routes=routes, middleware=[
        Middleware(Guard),
        Middleware(SessionMiddleware, secret_key=settings.session_secret,
                   session_cookie=SESSION_COOKIE, max_age=settings.session_hours * 3600,
                   same_site="strict", https_only=settings.secure_cookies),
    ])
    app.state.services = state
    return app


PUBLIC_PATHS = ("/login", "/logout", "/healthz")  # no data behind them
