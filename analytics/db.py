"""The analytics tables (SQLAlchemy Core) and the engine. Created by analytics/migrations only.

Times are UNIX seconds (double precision): Rasa's event timestamps, kept as they are.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import false

from analytics.settings import AnalyticsError, AnalyticsSettings
from store.db import connection_scope, describe_url, is_unavailable
from store.db import make_engine as store_engine
from store.errors import StoreUnavailable

logger = logging.getLogger(__name__)

ROLES = ("lead", "editor")
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def _seconds() -> Float:
    return Float(precision=53)


events = Table(
    "analytics_events", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("event_key", String(64), nullable=False, unique=True),
    Column("sender_id", String(255), nullable=False),
    Column("ts", _seconds(), nullable=False),
    Column("type", String(40), nullable=False),
    Column("name", String(200)),
    Column("text", Text),
    Column("intent", String(200)),
    Column("confidence", _seconds()),
    Column("language", String(10)),
    Column("channel", String(60)),
    Column("value", Text),
    Column("response", String(200)),
    Column("received_at", _seconds(), nullable=False),
    Column("guess", String(200)),
)

conversations = Table(
    "analytics_conversations", metadata,
    Column("conversation_id", String(300), primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("started_at", _seconds(), nullable=False, index=True),
    Column("ended_at", _seconds(), nullable=False),
    Column("duration_s", _seconds(), nullable=False),
    Column("channel", String(60), nullable=False),
    Column("language", String(10), nullable=False),
    Column("customer_turns", Integer, nullable=False),
    Column("bot_messages", Integer, nullable=False),
    Column("agent_messages", Integer, nullable=False),
    Column("fallback_turns", Integer, nullable=False),
    Column("knowledge_answers", Integer, nullable=False),
    Column("knowledge_not_found", Integer, nullable=False),
    Column("knowledge_helpful", Integer, nullable=False),
    Column("knowledge_not_helpful", Integer, nullable=False),
    Column("bot_answers", Integer, nullable=False),
    Column("handoff_requested", Boolean(create_constraint=False), nullable=False),
    Column("handoff_connected", Boolean(create_constraint=False), nullable=False),
    Column("handoff_reason", String(200)),
    Column("handoff_requested_at", _seconds()),
    Column("agent_first_reply_at", _seconds()),
    Column("handoff_closed_at", _seconds()),
    Column("first_response_s", _seconds()),
    Column("resolution_s", _seconds()),
    Column("handoff_case_id", Integer),
    Column("outcome", String(30), nullable=False),
    Column("csat_asked", Boolean(create_constraint=False), nullable=False),
    Column("csat_rating", Integer),
    Column("csat_skipped", Boolean(create_constraint=False), nullable=False),
    Column("first_intent", String(200)),
    Column("updated_at", _seconds(), nullable=False),
)

turns = Table(
    "analytics_turns", metadata,
    Column("event_key", String(64), primary_key=True),
    Column("conversation_id", String(300), nullable=False, index=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("ts", _seconds(), nullable=False, index=True),
    Column("text", Text),
    Column("intent", String(200)),
    Column("final_intent", String(200)),
    Column("confidence", _seconds()),
    Column("language", String(10)),
    Column("channel", String(60)),
    Column("fallback", Boolean(create_constraint=False), nullable=False),
    Column("knowledge", String(20)),
    Column("article_id", String(200)),
    Column("kb_feedback", String(20)),
    Column("bot_answered", Boolean(create_constraint=False), nullable=False),
    Column("guess", String(200)),
    Column("clarified", Boolean(create_constraint=False), nullable=False,
           server_default=false()),
)

offsets = Table(
    "analytics_offsets", metadata,
    Column("source", String(300), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", _seconds(), nullable=False),
)

rejected = Table(
    "analytics_rejected", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=True),
    Column("source", String(300), nullable=False),
    Column("reason", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", _seconds(), nullable=False),
)

review_marks = Table(
    "analytics_review_marks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(64), nullable=False, unique=True),
    Column("conversation_id", String(300), nullable=False),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("predicted_intent", String(200)),
    Column("intent", String(200), nullable=False),
    Column("marked_by", String(100), nullable=False),
    Column("marked_at", _seconds(), nullable=False),
    Column("exported_at", _seconds()),
)

users = Table(
    "analytics_users", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("created_at", _seconds(), nullable=False),
    Column("updated_at", _seconds(), nullable=False),
    CheckConstraint("role IN ('lead', 'editor')", name="role"),
)

Index("ix_analytics_events_sender_id_id", events.c.sender_id, events.c.id)


class AnalyticsUnavailable(AnalyticsError):
    """The analytics database cannot be reached, or has no (current) schema."""


def make_engine(database_url: str, *, busy_timeout_ms: int = 10_000) -> Engine:
    """An engine like the store's: SQLite in WAL mode with a busy timeout, writers queue."""
    try:
        return store_engine(database_url, busy_timeout_ms=busy_timeout_ms)
    except StoreUnavailable as exc:
        raise AnalyticsUnavailable(str(exc).replace("order store", "analytics database")) from exc


@functools.lru_cache(maxsize=4)
def _cached_engine(database_url: str, busy_timeout_ms: int) -> Engine:
    return make_engine(database_url, busy_timeout_ms=busy_timeout_ms)


def get_engine(settings: AnalyticsSettings | None = None) -> Engine:
    """The process-wide engine of the analytics database (built on first use)."""
    s = settings or AnalyticsSettings.from_env()
    return _cached_engine(s.database_url, s.sqlite_busy_timeout_ms)


def describe(engine: Engine) -> str:
    return describe_url(engine.url)


@contextmanager
def transaction(engine: Engine, *, write: bool = False) -> Iterator[Connection]:
    """One transaction; SQLite writers take the write lock up front (BEGIN IMMEDIATE)."""
    try:
        with connection_scope(engine, write=write) as conn:
            yield conn
    except DBAPIError as exc:
        if is_unavailable(exc):
            detail = str(getattr(exc, "orig", exc)).strip().splitlines()
            first = detail[0][:200] if detail else type(exc).__name__
            hint = ""
            if any(m in first.lower() for m in ("no such table", "does not exist")):
                hint = "; run `python -m analytics.migrate`"
            raise AnalyticsUnavailable(
                f"analytics database {describe(engine)} unavailable: {first}{hint}"
            ) from exc
        raise
