"""Where a customer's data can be, what forget and purge report, and the helpers they share to
walk any of those databases (reflected tables, chunks of ids, errors named by database)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import MetaData, String, Table, Text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from nordvik.env import env_list
from nordvik.trackers import tracker_database_url
from store.db import describe_url, make_engine, unavailable_error
from store.errors import StoreError
from store.models import (
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    OrderLine,
    Return,
    Shipment,
    ShipmentEvent,
    SupportCase,
)
from store.settings import StoreSettings

CONVERSATION_COLUMNS = ("sender_id", "conversation_id")
# The store's own tables are handled row by row; the sweeps leave them to that code.
STORE_TABLES = frozenset(table.__tablename__ for table in (
    Customer, Order, OrderLine, Shipment, ShipmentEvent, SupportCase, Return, Interaction,
    CsatFeedback,
))
_CHUNK = 500


@dataclass(frozen=True)
class PrivacyDatabases:
    """The databases that can hold a customer's data (duplicates removed, order kept)."""

    store_url: str
    tracker_url: str
    extra_urls: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, store_url: str | None = None,
                 extra_urls: Sequence[str] = ()) -> PrivacyDatabases:
        extra = [*env_list(env, "PRIVACY_EXTRA_DATABASES"), *(str(url) for url in extra_urls)]
        return cls(
            store_url=store_url or StoreSettings.from_env(env).database_url,
            tracker_url=tracker_database_url(env),
            extra_urls=tuple(extra),
        )

    def all_urls(self) -> list[str]:
        seen: list[str] = []
        for url in (self.store_url, self.tracker_url, *self.extra_urls):
            if url and url not in seen:
                seen.append(url)
        return seen


@dataclass
class ForgetReport:
    found: bool
    customer_id: int | None = None
    conversations: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)
    rows_anonymised: dict[str, int] = field(default_factory=dict)
    text_redacted: dict[str, int] = field(default_factory=dict)
    slack_threads: int = 0

    def count(self, bucket: dict[str, int], table: str, n: int) -> None:
        if n:
            bucket[table] = bucket.get(table, 0) + n


@dataclass
class PurgeReport:
    cutoff: datetime
    conversations: int = 0
    tracker_events: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)


@contextmanager
def open_engine(url: str) -> Iterator[Engine]:
    """An engine of its own for one pass over one database, disposed afterwards."""
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def reflect(conn: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return list(metadata.sorted_tables)


def text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, Text))]


def primary_key(table: Table) -> Any | None:
    keys = list(table.primary_key.columns)
    return keys[0] if len(keys) == 1 else None


def chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def wrap_error(url: str, exc: SQLAlchemyError) -> StoreError:
    """The error to raise for `exc` in the database at `url` (named without its password)."""
    if isinstance(exc, DBAPIError):
        return unavailable_error(exc, url)
    return StoreError(f"{describe_url(url)}: {type(exc).__name__}")
