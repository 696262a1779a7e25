"""The dashboard app on a tmp analytics database holding the ten crafted conversations, two
users, and a small knowledge base with one stale article."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from analytics.db import make_engine
from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.migrate import upgrade
from analytics.settings import AnalyticsSettings
from dashboard.app import create_app
from dashboard.auth import UserStore
from dashboard.settings import DashboardSettings
from tests.analytics.crafted import all_events

LEAD = ("lena", "lead-password-1")
EDITOR = ("erik", "editor-password-1")
ROOT = Path(__file__).resolve().parents[2]
ARTICLE = """---
id: {id}
title: {title}
language: en
tags: [test]
audience: public
owner: support-content
updated: 2025-01-01
review_by: {review_by}
---
{title}. A paragraph long enough to be a passage for the knowledge index to keep around.
"""


@pytest.fixture()
def kb_source(tmp_path: Path) -> Path:
    folder = tmp_path / "articles" / "en"
    folder.mkdir(parents=True)
    (folder / "returns-policy.md").write_text(ARTICLE.format(
        id="returns-policy", title="Returns policy", review_by="2099-01-01"))
    (folder / "old-prices.md").write_text(ARTICLE.format(
        id="old-prices", title="Old delivery prices", review_by="2020-01-01"))
    return tmp_path / "articles"


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    upgrade(url)
    built = make_engine(url)
    FactWriter(built).ingest([compact(e) for e in all_events()])
    users = UserStore(built)
    users.add(LEAD[0], "lead", LEAD[1])
    users.add(EDITOR[0], "editor", EDITOR[1])
    yield built
    built.dispose()


@pytest.fixture()
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DashboardSettings:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")  # kb feedback
    env = {"DASHBOARD_SECRET": "x" * 40, "ANALYTICS_DATABASE_URL":
           f"sqlite:///{tmp_path / 'analytics.db'}",
           "ANALYTICS_REVIEW_FILE": str(tmp_path / "data" / "nlu" / "review.yml"),
           "DASHBOARD_LOGIN_MAX_FAILURES": "3"}
    return DashboardSettings.from_env(env)


@pytest.fixture()
def app_client(settings: DashboardSettings, engine: Engine, kb_source: Path,
               tmp_path: Path) -> Iterator[TestClient]:
    data_dir = tmp_path / "data"
    (data_dir / "nlu" / "en").mkdir(parents=True)
    (data_dir / "nlu" / "en" / "core.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hei\n')
    app = create_app(settings, engine=engine, kb_source=kb_source, domain_dir=ROOT / "domain",
                     data_dir=data_dir)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client


def csrf_of(client: TestClient, path: str = "/login") -> str:
    import re

    page = client.get(path, headers={"accept": "text/html"})
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def login(client: TestClient, who: tuple[str, str]) -> None:
    token = csrf_of(client)
    response = client.post("/login", data={"name": who[0], "password": who[1],
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture()
def lead(app_client: TestClient) -> TestClient:
    login(app_client, LEAD)
    return app_client


@pytest.fixture()
def analytics_settings(settings: DashboardSettings) -> AnalyticsSettings:
    return settings.analytics
