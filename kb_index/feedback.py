"""Feedback for knowledge editors: agents' votes on suggestions and unanswered questions (gaps).

Own tables (``kb_votes``, ``kb_gaps``) in the same database as the order store (``DATABASE_URL``),
created on first use; no dependency on the ``store`` package.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from kb_index.errors import KnowledgeError, KnowledgeUnavailable
from nordvik.env import env_str, resolve_sqlite_url, state_dir

logger = logging.getLogger(__name__)

VOTES = ("helpful", "not_helpful")

metadata = MetaData()

kb_votes = Table(
    "kb_votes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("agent", String(100), nullable=False),
    Column("query", Text, nullable=False),
    Column("article_id", String(200), nullable=False, index=True),
    Column("vote", String(20), nullable=False),
    Column("source", String(50), nullable=False),
)

kb_gaps = Table(
    "kb_gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("query", Text, nullable=False),
    Column("normalized", Text, nullable=False, index=True),
    Column("source", String(50), nullable=False),
    Column("language", String(10), nullable=False),
)


@dataclass(frozen=True)
class VoteSummary:
    article_id: str
    helpful: int
    not_helpful: int
    last_seen: datetime


@dataclass(frozen=True)
class GapSummary:
    query: str
    language: str
    count: int
    last_seen: datetime
    sources: tuple[str, ...]


def default_database_url() -> str:
    """The store's database (where the feedback tables live): DATABASE_URL, else the state
    folder's store.db, as the store itself reads it."""
    url = env_str(None, "DATABASE_URL")
    if url:
        return resolve_sqlite_url(url)
    return f"sqlite:///{state_dir() / 'store.db'}"


def _normalize(query: str) -> str:
    return " ".join(query.lower().split())


class FeedbackStore:
    """Records votes and gaps; summaries for `kb votes` / `kb gaps` and for evaluation."""

    def __init__(self, database_url: str | None = None) -> None:
        self.database_url = (
            resolve_sqlite_url(database_url) if database_url else default_database_url()
        )
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _get_engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                if self.database_url.startswith("sqlite:///"):
                    path = self.database_url[len("sqlite:///") :]
                    if path and path != ":memory:":
                        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
                engine = create_engine(self.database_url, future=True, pool_pre_ping=True)
                try:
                    metadata.create_all(engine)
                except SQLAlchemyError as exc:
                    raise KnowledgeUnavailable("feedback database unreachable") from exc
                self._engine = engine
            return self._engine

    def record_vote(self, agent: str, query: str, article_id: str, vote: str, source: str) -> None:
        if vote not in VOTES:
            raise KnowledgeError(f"vote {vote!r} must be one of {', '.join(VOTES)}")
        if not article_id:
            raise KnowledgeError("vote without an article id")
        self._insert(
            kb_votes,
            agent=agent[:100],
            query=query,
            article_id=article_id[:200],
            vote=vote,
            source=source[:50],
        )
        logger.info("kb vote %s on article %s from %s", vote, article_id, source)

    def record_gap(self, query: str, source: str, language: str) -> None:
        if not query.strip():
            raise KnowledgeError("gap with an empty query")
        self._insert(
            kb_gaps,
            query=query,
            normalized=_normalize(query),
            source=source[:50],
            language=(language or "unknown")[:10],
        )
        logger.info("kb gap recorded from %s (language %s)", source, language)

    def _insert(self, table: Table, **values: str) -> None:
        engine = self._get_engine()
        try:
            with engine.begin() as conn:
                conn.execute(insert(table).values(created_at=datetime.now(timezone.utc), **values))
        except SQLAlchemyError as exc:
            raise KnowledgeUnavailable("feedback database unreachable") from exc

    def votes(self) -> list[VoteSummary]:
        """Per article: helpful and not-helpful counts, last vote; most voted first."""
        engine = self._get_engine()
        stmt = select(
            kb_votes.c.article_id, kb_votes.c.vote, func.count(), func.max(kb_votes.c.created_at)
        ).group_by(kb_votes.c.article_id, kb_votes.c.vote)
        merged: dict[str, dict[str, object]] = {}
        try:
            with engine.connect() as conn:
                rows = conn.execute(stmt).all()
        except SQLAlchemyError as exc:
            raise KnowledgeUnavailable("feedback database unreachable") from exc
        for article_id, vote, count, last in rows:
            entry = merged.setdefault(article_id, {"helpful": 0, "not_helpful": 0, "last": last})
            entry[vote] = int(count)
            if last is not None and (entry["last"] is None or last > entry["last"]):  # type: ignore[operator]
                entry["last"] = last
        summaries = [
            VoteSummary(
                article_id=article_id,
                helpful=int(entry["helpful"]),  # type: ignore[call-overload]
                not_helpful=int(entry["not_helpful"]),  # type: ignore[call-overload]
                last_seen=entry["last"],  # type: ignore[arg-type]
            )
            for article_id, entry in merged.items()
        ]
        summaries.sort(key=lambda s: (-(s.helpful + s.not_helpful), s.article_id))
        return summaries

    def helpful_pairs(self) -> list[tuple[str, str]]:
        """(query, article_id) pairs agents marked helpful, for folding into evaluation qrels."""
        engine = self._get_engine()
        stmt = (
            select(kb_votes.c.query, kb_votes.c.article_id)
            .where(kb_votes.c.vote == "helpful")
            .distinct()
        )
        try:
            with engine.connect() as conn:
                return [(str(q), str(a)) for q, a in conn.execute(stmt).all()]
        except SQLAlchemyError as exc:
            raise KnowledgeUnavailable("feedback database unreachable") from exc

    def gaps(self) -> list[GapSummary]:
        """Unanswered questions grouped by normalised text; most frequent first."""
        engine = self._get_engine()
        stmt = (
            select(
                kb_gaps.c.normalized,
                kb_gaps.c.language,
                func.count(),
                func.max(kb_gaps.c.created_at),
            )
            .group_by(kb_gaps.c.normalized, kb_gaps.c.language)
            .order_by(func.count().desc(), func.max(kb_gaps.c.created_at).desc())
        )
        src_stmt = select(kb_gaps.c.normalized, kb_gaps.c.source).distinct()
        try:
            with engine.connect() as conn:
                rows = conn.execute(stmt).all()
                sources: dict[str, set[str]] = {}
                for normalized, source in conn.execute(src_stmt).all():
                    sources.setdefault(normalized, set()).add(source)
        except SQLAlchemyError as exc:
            raise KnowledgeUnavailable("feedback database unreachable") from exc
        return [
            GapSummary(
                query=normalized,
                language=language,
                count=int(count),
                last_seen=last,
                sources=tuple(sorted(sources.get(normalized, ()))),
            )
            for normalized, language, count, last in rows
        ]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
