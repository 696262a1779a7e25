"""A migrated analytics database per test (SQLite in tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from analytics.db import make_engine
from analytics.ingest import FactWriter
from analytics.migrate import upgrade


@pytest.fixture()
def analytics_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'analytics.db'}"
    upgrade(url)
    return url


@pytest.fixture()
def engine(analytics_url: str) -> Iterator[Engine]:
    built = make_engine(analytics_url)
    yield built
    built.dispose()


@pytest.fixture()
def writer(engine: Engine) -> FactWriter:
    return FactWriter(engine)
