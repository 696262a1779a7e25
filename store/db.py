"""Engines and sessions. Built lazily; nothing connects at import time.

Every database error that means "the store cannot serve you right now" (server down, file not
writable, lock held too long, schema missing) surfaces as :class:`StoreUnavailable`, with a
message that names the database without its password.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InterfaceError,
    NoSuchModuleError,
    OperationalError,
    ProgrammingError,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from store.errors import StoreUnavailable
from store.settings import StoreSettings

logger = logging.getLogger(__name__)


WRITE_OPTION = "store_write"
_MISSING_SCHEMA_MARKERS = ("no such table", "undefinedtable", "does not exist", "no such column")


def describe_url(url: str | URL) -> str:
    """The database named for humans: driver, host, port and database, never the password."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable DATABASE_URL>"
    return str(parsed.render_as_string(hide_password=True))


def _sqlite_file(url: URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def make_engine(
    database_url: str,
    *,
    busy_timeout_ms: int = 10_000,
    pool_timeout_s: int = 10,
    echo: bool = False,
) -> Engine:
    """A new engine (uncached). SQLite gets foreign keys, WAL and a busy timeout."""
    try:
        url = make_url(database_url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    # hide_parameters: a database error quotes the statement but not its values (e-mail
    # addresses, customer text), so it can be logged.
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {"future": True, "echo": echo, "hide_parameters": True,
                              "pool_pre_ping": backend != "sqlite"}
    sqlite_path = _sqlite_file(url)
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000, "check_same_thread": False}
        if sqlite_path is not None:
            # Keep connections open (SQLAlchemy 1.4 opens and closes a file database's
            # connection around every session, and the pragmas run again each time); nothing
            # to ping in a file, so no pre-ping either.
            kwargs["poolclass"] = QueuePool
            try:
                sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(
                    f"cannot create the directory for the order store {sqlite_path}: {exc}"
                ) from exc
    elif backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": pool_timeout_s}
        kwargs["pool_timeout"] = pool_timeout_s
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ImportError, ArgumentError) as exc:
        raise StoreUnavailable(
            f"cannot use the database {describe_url(url)}: {type(exc).__name__}: {exc}"
        ) from exc
    if backend == "sqlite":
        _install_sqlite_pragmas(engine, busy_timeout_ms, wal=sqlite_path is not None)
    return engine


def _install_sqlite_pragmas(engine: Engine, busy_timeout_ms: int, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own implicit transactions are turned off; _on_begin emits BEGIN itself
        # (SQLAlchemy's documented recipe), so DDL is transactional and writers can ask for
        # BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if wal:
                # Readers do not block the writer: the action server and the Slack app share it.
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front (waiting up to busy_timeout), so
        # two processes writing at once queue instead of failing with "database is locked".
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


@functools.lru_cache(maxsize=8)
def _cached_engine(
    database_url: str, busy_timeout_ms: int, pool_timeout_s: int, echo: bool
) -> Engine:
    return make_engine(
        database_url, busy_timeout_ms=busy_timeout_ms, pool_timeout_s=pool_timeout_s, echo=echo
    )


def get_engine(settings: StoreSettings | None = None) -> Engine:
    """The process-wide engine for these settings (default: from the environment)."""
    s = settings or StoreSettings.from_env()
    return _cached_engine(s.database_url, s.sqlite_busy_timeout_ms, s.pool_timeout_s, s.echo_sql)


def unavailable_error(exc: DBAPIError, engine_url: str | URL) -> StoreUnavailable:
    """Translate a driver error into a StoreUnavailable that names the database."""
    name = describe_url(engine_url)
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()
    first = detail[0][:200] if detail else type(exc).__name__
    lowered = (first + type(getattr(exc, "orig", exc)).__name__).lower()
    if any(marker in lowered for marker in _MISSING_SCHEMA_MARKERS):
        return StoreUnavailable(
            f"the order store {name} has no (current) schema; run `python -m store.cli migrate`"
            f" ({first})"
        )
    return StoreUnavailable(f"cannot reach the order store {name}: {first}")


def is_unavailable(exc: DBAPIError) -> bool:
    """True for errors of the server or the schema, not of the statement's data."""
    if isinstance(exc, (OperationalError, InterfaceError)) or exc.connection_invalidated:
        return True
    if isinstance(exc, ProgrammingError):
        text = (str(getattr(exc, "orig", exc)) + type(getattr(exc, "orig", exc)).__name__).lower()
        return any(marker in text for marker in _MISSING_SCHEMA_MARKERS)
    return False


@contextmanager
def translate_errors(engine: Engine) -> Iterator[None]:
    """Turn connection/schema errors raised inside the block into StoreUnavailable."""
    try:
        yield
    except DBAPIError as exc:
        if is_unavailable(exc):
            error = unavailable_error(exc, engine.url)
            logger.error("order store unavailable: %s", error)
            raise error from exc
        raise


@contextmanager
def connection_scope(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """A Core connection in one transaction, committed on success; ``write=True`` starts SQLite
    transactions with BEGIN IMMEDIATE, so a writer waits for another instead of failing as
    "locked" (no effect elsewhere). Errors pass through as SQLAlchemy raised them."""
    with engine.connect() as connection:
        if write:
            connection = connection.execution_options(**{WRITE_OPTION: True})
        with connection.begin():
            yield connection


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on any error.

    ``write=True`` starts SQLite transactions with BEGIN IMMEDIATE (no effect elsewhere).
    """
    with translate_errors(engine):
        session = Session(engine, future=True, expire_on_commit=False)
        try:
            if write:
                session.connection(execution_options={WRITE_OPTION: True})
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
