"""Schema migrations (Alembic, configured in code; no alembic.ini needed).

``upgrade(engine_or_url)`` brings a database to the newest revision in place, keeping its rows.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic.util import CommandError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from nordvik.schema import RevisionChain
from store.db import describe_url, is_unavailable, make_engine, unavailable_error
from store.errors import StoreError
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "store_schema_version"


CHAIN = RevisionChain(MIGRATIONS_DIR, version_table=VERSION_TABLE)


def head_revision() -> str:
    head = CHAIN.head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return str(head)


def _engine(target: Engine | str | None) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    if target is None:
        target = StoreSettings.from_env().database_url
    return make_engine(target), True


def current_revision(target: Engine | str | None = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine, owned = _engine(target)
    try:
        with engine.connect() as conn:
            return CHAIN.current(conn)
    except DBAPIError as exc:
        if is_unavailable(exc):
            raise unavailable_error(exc, engine.url) from exc
        raise
    finally:
        if owned:
            engine.dispose()


def _sqlite_pragma(conn: Connection, statement: str) -> list[Any]:
    """Run a PRAGMA outside any transaction (on the driver connection, no BEGIN emitted)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def upgrade(target: Engine | str | None = None, revision: str = "head") -> str | None:
    """Upgrade the database in place to ``revision`` (default: the newest); returns it."""
    engine, owned = _engine(target)
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            if sqlite:
                # Batch migrations rebuild tables; foreign keys must be off while they do
                # (the pragma has no effect inside a transaction, hence before Alembic begins).
                _sqlite_pragma(conn, "PRAGMA foreign_keys=OFF")
            try:
                try:
                    now = CHAIN.upgrade(conn, revision)
                except CommandError as exc:
                    raise StoreError(
                        f"cannot migrate {describe_url(engine.url)} to {revision!r}: {exc} "
                        "(is the database from a newer version of this code?)"
                    ) from exc
                if sqlite:
                    broken = _sqlite_pragma(conn, "PRAGMA foreign_key_check")
                    if broken:
                        raise StoreError(
                            f"migration left {len(broken)} rows with broken foreign keys in "
                            f"{describe_url(engine.url)} (first: {broken[0]!r})"
                        )
            finally:
                if sqlite:
                    conn.rollback()
                    _sqlite_pragma(conn, "PRAGMA foreign_keys=ON")
        logger.info("order store %s is at revision %s", describe_url(engine.url), now)
        return now
    except DBAPIError as exc:
        if is_unavailable(exc):
            raise unavailable_error(exc, engine.url) from exc
        raise
    finally:
        if owned:
            engine.dispose()
