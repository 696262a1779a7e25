"""`python -m dashboard`: serve the dashboard with uvicorn (`make run` starts it)."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from analytics.migrate import upgrade
from analytics.settings import AnalyticsError
from dashboard.app import create_app
from dashboard.auth import UserStore
from dashboard.settings import DashboardSettings
from nordvik.secrets import secret, secrets_dir

FIRST_USER = "lead"


def ensure_first_user(users: UserStore) -> None:
    """With no user at all, create the team lead `lead`; its password comes from
    DASHBOARD_LEAD_PASSWORD, else it is generated once into var/secrets/dashboard_lead_password."""
    if users.count():
        return
    users.add(FIRST_USER, "lead", secret("dashboard_lead_password", "DASHBOARD_LEAD_PASSWORD"))
    logging.getLogger(__name__).warning(
        "no dashboard user yet: created %r (team lead); its password is DASHBOARD_LEAD_PASSWORD "
        "or the file %s. Add people with `python -m dashboard.users add NAME --role lead|editor`",
        FIRST_USER, secrets_dir() / "dashboard_lead_password")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The analytics dashboard.")
    parser.add_argument("--host", help="default DASHBOARD_HOST or 127.0.0.1")
    parser.add_argument("--port", type=int, help="default DASHBOARD_PORT or 8081")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = DashboardSettings.from_env()
        upgrade(settings.analytics.database_url)
        app = create_app(settings)
        ensure_first_user(app.state.services.users)
    except AnalyticsError as exc:
        print(f"dashboard: {exc}", file=sys.stderr)
        return 1
    host = args.host or settings.host
    if not settings.loopback and args.host is None:
        logging.getLogger(__name__).warning(
            "the dashboard listens on %s, not on loopback; put TLS in front of it and set "
            "DASHBOARD_SECURE_COOKIES=1", host)
    uvicorn.run(app, host=host, port=args.port or settings.port, log_level="info",
                proxy_headers=False, server_header=False,
                ws="none")  # no websockets here (and uvicorn's need a newer websockets than Rasa's)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
