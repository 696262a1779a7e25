"""What every dashboard request handler reaches: settings, the analytics engine, the user store,
the login throttle, the templates and the paths (one object on the app's state)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from analytics.review import intent_choices
from dashboard.auth import LoginThrottle, UserStore
from dashboard.settings import DashboardSettings


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


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]
