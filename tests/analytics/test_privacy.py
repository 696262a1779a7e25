"""Erasing a customer's conversations from the analytics tables, and the retention purge."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics import db
from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.privacy import forget_senders, purge_before
from analytics.review import mark_message
from analytics.settings import privacy_database_urls
from tests.analytics.crafted import DAY1, all_events


def rows(engine: Engine, table: object, sender: str) -> int:
    with db.transaction(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(
            table.c.sender_id == sender)).scalar() or 0)  # type: ignore[attr-defined]


def test_forget_removes_every_row_of_the_sender(writer: FactWriter, engine: Engine) -> None:
    writer.ingest([compact(e) for e in all_events()])
    with db.transaction(engine) as conn:
        key = conn.execute(select(db.turns.c.event_key).where(
            db.turns.c.sender_id == "c05")).scalars().first()
    mark_message(engine, key, "faq/returns_policy", marked_by="lena",
                 choices=["faq/returns_policy"])
    tables = (db.events, db.conversations, db.turns, db.review_marks)
    assert all(rows(engine, t, "c05") for t in tables)
    result = forget_senders(engine, ["c05"])
    assert result.rows["analytics_review_marks"] == 1 and result.rows["analytics_turns"] == 2
    assert not any(rows(engine, t, "c05") for t in tables)
    assert rows(engine, db.events, "c06") > 0  # others stay


def test_purge_removes_senders_whose_last_event_is_older(writer: FactWriter,
                                                         engine: Engine) -> None:
    writer.ingest([compact(e) for e in all_events()])
    result = purge_before(engine, DAY1 + 86_400 + 3_600)  # c01-c09 ended before, c10 after
    assert result.senders == 9
    with db.transaction(engine) as conn:
        left = {s for (s,) in conn.execute(select(db.conversations.c.sender_id))}
    assert left == {"c10"}


def test_the_store_privacy_commands_find_the_analytics_database() -> None:
    urls = privacy_database_urls({"ANALYTICS_DATABASE_URL": "sqlite:////tmp/x/analytics.db"})
    assert urls == ["sqlite:////tmp/x/analytics.db"]
