"""The analytics chain: its own version table, beside the store's chain in one database, on
SQLite and PostgreSQL; the migrated schema is exactly the tables in analytics/db.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from analytics.db import metadata
from analytics.migrate import VERSION_TABLE, current_revision, head_revision, upgrade
from tests.store.pg import fresh_pg_database


def _analytics_only(obj: object, name: str | None, type_: str, reflected: bool,
                    compare_to: object) -> bool:
    table = getattr(obj, "table", obj) if type_ != "table" else obj
    return str(getattr(table, "name", name) or "").startswith("analytics_")


def _check(url: str) -> None:
    from store.migrate import VERSION_TABLE as STORE_VERSION_TABLE
    from store.migrate import current_revision as store_revision
    from store.migrate import head_revision as store_head
    from store.migrate import upgrade as store_upgrade

    assert current_revision(url) is None
    store_upgrade(url)
    assert upgrade(url) == head_revision()
    assert upgrade(url) == head_revision()  # again: nothing to do
    assert store_revision(url) == store_head()  # the store's chain is untouched
    engine = create_engine(url, future=True)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {VERSION_TABLE, STORE_VERSION_TABLE, "orders", "analytics_events"} <= tables
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": _analytics_only})
            diff = [d for d in compare_metadata(context, metadata)
                    if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)]
        assert diff == []
    finally:
        engine.dispose()


def test_sqlite_beside_the_store(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.postgres
def test_postgresql_beside_the_store() -> None:
    with fresh_pg_database() as url:
        _check(url)


def test_two_processes_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    """`make run` starts the consumer and the dashboard together; both upgrade."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'race.db'}"
    code = "from analytics.migrate import upgrade; import sys; print(upgrade(sys.argv[1]))"
    root = Path(__file__).resolve().parents[2]
    runs = [subprocess.Popen([sys.executable, "-c", code, url], cwd=root, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    results = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err[-800:] for _, err in results]
    assert [out.strip() for out, _ in results] == [head_revision()] * 3
