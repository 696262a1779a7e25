"""Store test fixtures: a real SQLite file per test and a real PostgreSQL database per session."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from store.db import make_engine
from store.migrate import upgrade
from store.models import Base
from store.repository import OrderStore
from tests.store.factories import TODAY, add_demo_rows
from tests.store.pg import fresh_pg_database


@pytest.fixture(scope="session")
def pg_store_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the session (tables are emptied between tests)."""
    with fresh_pg_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once to the newest revision; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "store.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store database: a fresh SQLite file, or the emptied PostgreSQL one."""
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = str(request.getfixturevalue("pg_store_url"))
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    engine.dispose()
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[OrderStore]:
    """A store with the demo rows of tests/store/factories.py, its clock pinned to TODAY."""
    engine = make_engine(database_url)
    add_demo_rows(engine)
    yield OrderStore(engine, return_window_days=30, today=lambda: TODAY)
    engine.dispose()


@pytest.fixture
def today() -> date:
    return TODAY
