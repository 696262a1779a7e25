"""Logins, roles and CSRF for every route, and the headers on every response.

Without a login a page request is redirected to /login and anything else (plots, CSV, POSTs)
gets 401; a signed-in user without the role gets 403. A session ends when its user's password
or role changed. Every POST carries the session's CSRF token. Pages send no-store and a strict
Content-Security-Policy (no scripts at all).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from analytics.db import AnalyticsUnavailable
from dashboard.auth import User
from dashboard.services import services

logger = logging.getLogger(__name__)

LEAD, EDITOR = "lead", "editor"
EVERYONE = (LEAD, EDITOR)
CSP = ("default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class HttpProblem(Exception):
    """Stop a request with this status and a plain message (no data)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- sessions, roles, CSRF --------------------------------------------------------------------
def current_user(request: Request) -> User | None:
    session = request.session
    name = session.get("user")
    if not isinstance(name, str):
        return None
    user = services(request).users.get(name)
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


def safe_next(target: str | None, fallback: str) -> str:
    """Only local paths: never redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return fallback


def home_of(user: User) -> str:
    return "/overview" if user.role == LEAD else "/content"


def problem_page(request: Request, problem: HttpProblem) -> Response:
    if problem.status == 303:
        return RedirectResponse(problem.message, status_code=303)
    return PlainTextResponse(problem.message, status_code=problem.status)


class Guard:
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


def wrap(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request],
                                                                          Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except HttpProblem as problem:
            return problem_page(request, problem)
        except AnalyticsUnavailable:
            logger.exception("dashboard: the analytics database is unavailable")
            return PlainTextResponse("The analytics database is unavailable right now.", 503)

    return wrapped
