"""Store test fixtures: a real SQLite file per test and a real PostgreSQL database per session."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from store.db import make_engine
from store.migrate import upgrade
from store.models import Base
from store.repository import OrderStore
from tests.store.factories import TODAY, add_demo_rows

PG_ADMIN_URL = os.environ.get(
    "STORE_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards; skips if unreachable."""
    admin = create_engine(
        PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"store_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        pytest.skip(f"PostgreSQL at {make_url(PG_ADMIN_URL).host} is unreachable: {first}")
    try:
        yield str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
