"""Tables a channel keeps beside the order store, in the same database (SQLite or PostgreSQL):
created on first use, every unit of work in one transaction, and any database failure raised
as the channel's own "unavailable" error (its text names the tables, never a value).

    class ThreadStore(SideTables):
        def __init__(self, database_url: str) -> None:
            super().__init__(database_url, metadata, ThreadStoreUnavailable, "mail threads")
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from store.db import connection_scope, make_engine
from store.errors import StoreUnavailable


class SideTables:
    """The engine of a channel's tables and the transaction around each unit of work."""

    def __init__(self, database_url: str, metadata: MetaData,
                 unavailable: type[Exception], what: str) -> None:
        self.database_url = database_url
        self._metadata = metadata
        self._unavailable = unavailable
        self._what = what
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _failure(self, exc: Exception) -> Exception:
        return self._unavailable(f"{self._what} unavailable: {type(exc).__name__}")

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                try:
                    engine = make_engine(self.database_url)
                    # the write lock first, so creating the tables waits for another
                    # process's write instead of failing as "locked"
                    with connection_scope(engine, write=True) as connection:
                        self._metadata.create_all(connection)
                except (StoreUnavailable, SQLAlchemyError) as exc:
                    raise self._failure(exc) from exc
                self._engine = engine
            return self._engine

    def _run(self, work: Callable[[Connection], Any], *, write: bool = False) -> Any:
        """`work` in one transaction; `write`: it takes the write lock first (SQLite: BEGIN
        IMMEDIATE, waiting for another writer rather than failing on the upgrade)."""
        try:
            with connection_scope(self.engine, write=write) as connection:
                return work(connection)
        except SQLAlchemyError as exc:
            raise self._failure(exc) from exc
