"""The embedded path: Rasa's own SQLEventBroker writes events into a SQLite file, the consumer
tails it by row id. Rows read twice (a crash before the offset moved) count once; a row that is
no Rasa event is kept aside with its reason; a replaced broker file is read from the start."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from rasa.core.brokers.sql import SQLEventBroker
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics import db
from analytics.consumer import SqlBrokerTail
from analytics.ingest import FactWriter
from analytics.kpis import KpiFilter
from analytics.queries import kpi_report
from tests.analytics.crafted import TWO_WEEKS_END, TWO_WEEKS_START, all_events


def publish(path: Path, events: list[dict[str, object]]) -> None:
    broker = SQLEventBroker(dialect="sqlite", db=str(path))
    for event in events:
        broker.publish(event)
    broker.engine.dispose()


def count(engine: Engine, table: object) -> int:
    with db.transaction(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def test_the_sql_broker_stream_becomes_facts(tmp_path: Path, writer: FactWriter,
                                             engine: Engine) -> None:
    broker_file = tmp_path / "events.db"
    tail = SqlBrokerTail(broker_file, writer, batch_size=50)
    assert tail.poll_once() is None  # Rasa has not written anything yet
    events = all_events()
    publish(broker_file, events)
    assert tail.drain() == len(events)
    assert writer.offset(tail.source) == len(events)
    assert tail.poll_once() is None
    assert count(engine, db.events) == len(events)
    k = kpi_report(engine, KpiFilter(start=TWO_WEEKS_START, end=TWO_WEEKS_END)).total
    assert (k.conversations, k.bot_resolved, k.handoffs) == (10, 5, 4)
    with sqlite3.connect(broker_file) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rows_read_twice_count_once(tmp_path: Path, writer: FactWriter, engine: Engine) -> None:
    broker_file = tmp_path / "events.db"
    events = all_events()
    publish(broker_file, events)
    tail = SqlBrokerTail(broker_file, writer, batch_size=1000)
    tail.drain()
    before = kpi_report(engine, KpiFilter(start=TWO_WEEKS_START, end=TWO_WEEKS_END)).total
    # the consumer crashed before its offset moved: everything is read again
    with db.transaction(engine, write=True) as conn:
        conn.execute(db.offsets.update().values(position=0))
    tail.drain()
    # and the broker itself delivered some events twice
    publish(broker_file, events[:40])
    tail.drain()
    assert count(engine, db.events) == len(events)
    after = kpi_report(engine, KpiFilter(start=TWO_WEEKS_START, end=TWO_WEEKS_END)).total
    assert after == before


def test_a_row_that_is_no_event_is_kept_aside_and_the_rest_goes_on(
        tmp_path: Path, writer: FactWriter, engine: Engine) -> None:
    broker_file = tmp_path / "events.db"
    events = all_events()[:20]
    publish(broker_file, events[:10])
    with sqlite3.connect(broker_file) as conn:
        conn.execute("INSERT INTO events (sender_id, data) VALUES ('x', 'not json {')")
        conn.execute("INSERT INTO events (sender_id, data) VALUES ('x', ?)",
                     (json.dumps({"event": "user"}),))
    publish(broker_file, events[10:])
    tail = SqlBrokerTail(broker_file, writer)
    assert tail.drain() == 20  # the two bad rows are not events
    assert count(engine, db.events) == 20
    with db.transaction(engine) as conn:
        rows = conn.execute(select(db.rejected.c.reason, db.rejected.c.body)).all()
    assert [r.body for r in rows] == ["not json {", '{"event": "user"}']
    assert "JSON" in rows[0].reason and "sender" in rows[1].reason
    assert writer.offset(tail.source) == 22


def test_a_replaced_broker_file_is_read_from_the_start(tmp_path: Path, writer: FactWriter,
                                                       engine: Engine) -> None:
    broker_file = tmp_path / "events.db"
    events = all_events()
    publish(broker_file, events[:100])
    tail = SqlBrokerTail(broker_file, writer)
    tail.drain()
    broker_file.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{broker_file}{suffix}").unlink(missing_ok=True)
    publish(broker_file, events[100:130])
    tail.drain()
    assert count(engine, db.events) == 130
    assert writer.offset(tail.source) == 30


def test_an_unreachable_analytics_database_raises_a_clear_error(tmp_path: Path) -> None:
    from analytics.db import AnalyticsUnavailable, make_engine

    broker_file = tmp_path / "events.db"
    publish(broker_file, all_events()[:5])
    unmigrated = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(AnalyticsUnavailable, match="analytics.migrate"):
        SqlBrokerTail(broker_file, FactWriter(unmigrated)).poll_once()
    # nothing was lost: the broker file still has every row
    with sqlite3.connect(broker_file) as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 5
