"""`store export | forget | purge` on SQLite and PostgreSQL: a customer's data found everywhere
(store, knowledge feedback, Rasa's tracker events, a copy of the events elsewhere), erased
everywhere, and nothing else touched."""

from __future__ import annotations

import json
import logging
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, insert, select
from sqlalchemy.engine import Engine

from customer_data import cli  # the `store` command: store.cli's commands and `forget`
from kb_index.feedback import FeedbackStore
from nordvik.secrets import seal
from store.db import make_engine
from store.errors import InvalidInput
from store.models import Customer, Interaction, Order
from store.privacy import (
    PrivacyDatabases,
    conversation_ids_in,
    export_customer,
    forget_customer,
    parse_age,
    purge_older_than,
)
from store.repository import OrderStore
from tests.store.factories import ANNA, LIN, TODAY, add_demo_rows

ANNA_NAME = "Anna Svensson"
LIN_NAME = "林怡君"
NOW = time.time()


def rasa_events_table(metadata: MetaData) -> Table:
    """The table Rasa's SQLTrackerStore writes (its SQLEvent model)."""
    from rasa.core.tracker_store import SQLTrackerStore

    return SQLTrackerStore.SQLEvent.__table__.to_metadata(metadata)  # type: ignore[no-any-return]


def broker_events_table(metadata: MetaData) -> Table:
    """The table of Rasa's SQL event broker (a copy of every event, for analytics)."""
    return Table("events", metadata, Column("id", Integer, primary_key=True),
                 Column("sender_id", String(255)), Column("data", Text))


def event(kind: str, ts: float, **fields: object) -> dict[str, object]:
    return {"event": kind, "timestamp": ts, **fields}


def add_conversation(engine: Engine, table: Table, sender: str,
                     events: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        for item in events:
            row = {"sender_id": sender, "data": json.dumps(item)}
            if "type_name" in table.c:
                row.update(type_name=str(item["event"]), timestamp=item["timestamp"],
                           intent_name=None, action_name=item.get("name"))
            conn.execute(insert(table).values(**row))


@dataclass
class World:
    databases: PrivacyDatabases
    store: OrderStore
    tracker_engine: Engine
    copy_engine: Engine


def _drop_side_tables(url: str) -> None:
    engine = create_engine(url, future=True)
    metadata = MetaData()
    metadata.reflect(bind=engine, only=lambda name, _: name in ("events", "kb_votes", "kb_gaps"))
    metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    """Two customers with orders, history, feedback and conversations; the tracker in its own
    SQLite file (or, on PostgreSQL, in the store's database, as Rasa is configured there)."""
    postgres = database_url.startswith("postgres")
    if postgres:
        _drop_side_tables(database_url)
    tracker_url = database_url if postgres else f"sqlite:///{tmp_path / 'tracker.db'}"
    copy_url = f"sqlite:///{tmp_path / 'events.db'}"
    engine = make_engine(database_url)
    add_demo_rows(engine)
    crm = OrderStore(engine, today=lambda: TODAY)
    tracker_engine = make_engine(tracker_url)
    metadata = MetaData()
    events = rasa_events_table(metadata)
    metadata.create_all(tracker_engine)
    copy_engine = make_engine(copy_url)
    copy_metadata = MetaData()
    copies = broker_events_table(copy_metadata)
    copy_metadata.create_all(copy_engine)

    anna_id = crm.customer_id_for_order("A10001")
    lin_id = crm.customer_id_for_order("A20001")
    assert anna_id is not None and lin_id is not None
    # Anna: history of two chats, a handoff case with CSAT, a return; Lin: one chat.
    crm.record_interaction(conversation_id="anna-chat-1", channel="chat", direction="in",
                           text="where is A10001, my e-mail is [e-mail]", order_number="A10001")
    crm.record_interaction(conversation_id="anna-chat-1", channel="chat", direction="out",
                           text="Order A10001 is on its way", order_number="A10001")
    case = crm.open_case(subject="Damaged lamp, Anna Svensson called", channel="chat",
                         customer_id=anna_id, conversation_id="anna-chat-2", status="handoff")
    crm.attach_slack_thread(case.id, "CSUPPORT", "1763900000.000100")
    crm.record_csat(conversation_id="anna-chat-2", rating=4, comment="Thanks! anna.svensson",
                    case_id=case.id)
    crm.record_interaction(conversation_id="lin-chat-1", channel="chat", direction="in",
                           text="我的訂單 A20001 在哪裡", order_number="A20001")
    feedback = FeedbackStore(database_url)
    feedback.record_gap(f"{ANNA} cannot log in", "chat", "en")
    feedback.record_gap("how long is the warranty", "chat", "en")
    feedback.record_vote("UAGENT1", f"{ANNA_NAME} asks about returns", "returns-policy",
                         "helpful", "slack_command")
    feedback.dispose()

    old = NOW - 200 * 86400
    add_conversation(tracker_engine, events, "anna-chat-1", [
        event("user", NOW - 60, text="where is my order A10001?"),
        event("slot", NOW - 50, name="email", value=seal(ANNA, purpose="tracker-slot")),
        event("user", NOW - 50, text="[e-mail]"),
        event("bot", NOW - 40, text="Order A10001 is on its way."),
    ])
    add_conversation(tracker_engine, events, "anna-chat-2", [
        event("user", NOW - 30, text="I want to talk to a person"),
    ])
    # Not in the store's rows: found by the name, and by a sealed address.
    add_conversation(tracker_engine, events, "anna-chat-3", [
        event("user", NOW - 20, text="hi, this is anna svensson again"),
    ])
    add_conversation(tracker_engine, events, "anna-chat-4", [
        event("slot", NOW - 10, name="email", value=seal(ANNA, purpose="email")),
    ])
    add_conversation(tracker_engine, events, "lin-chat-1", [
        event("user", NOW - 5, text=f"我是{LIN_NAME}，訂單 A20001"),
    ])
    add_conversation(tracker_engine, events, "stranger", [
        event("user", NOW - 5, text="what are your opening hours?"),
        event("slot", NOW - 5, name="email", value=seal("someone@else.example", purpose="email")),
    ])
    add_conversation(tracker_engine, events, "old-stranger", [
        event("user", old, text="hello from long ago"),
    ])
    add_conversation(copy_engine, copies, "anna-chat-1", [
        event("user", NOW - 60, text="where is my order A10001?")])
    add_conversation(copy_engine, copies, "stranger", [
        event("user", NOW - 5, text="what are your opening hours?")])
    yield World(PrivacyDatabases(database_url, tracker_url, (copy_url,)), crm, tracker_engine,
                copy_engine)
    for e in (engine, tracker_engine, copy_engine):
        e.dispose()


def every_text(world: World) -> list[tuple[str, str, str]]:
    """(database, table.column, value) of every text value in every table of every database."""
    found: list[tuple[str, str, str]] = []
    for url in world.databases.all_urls():
        engine = create_engine(url, future=True)
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as conn:
            for table in metadata.sorted_tables:
                for column in table.columns:
                    if not isinstance(column.type, (String, Text)):
                        continue
                    for (value,) in conn.execute(select(column)):
                        if value is not None:
                            found.append((url, f"{table.name}.{column.name}", str(value)))
        engine.dispose()
    return found


def senders(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return {str(s) for s in conn.execute(
            select(Table("events", MetaData(), autoload_with=conn).c.sender_id)).scalars()}


def test_export_holds_everything_about_the_customer(world: World) -> None:
    data = export_customer(world.databases, " Anna.Svensson@Example.com ")
    assert data is not None
    assert data["customer"]["email"] == ANNA and data["customer"]["name"] == ANNA_NAME
    numbers = {order["number"] for order in data["orders"]}
    assert {"A10001", "A10005", "A10008"} <= numbers and "A20001" not in numbers
    delivered = next(o for o in data["orders"] if o["number"] == "A10001")
    assert delivered["lines"] and delivered["shipments"][0]["events"]
    assert [c["conversation_id"] for c in data["support_cases"]] == ["anna-chat-2"]
    assert {i["conversation_id"] for i in data["interactions"]} == {"anna-chat-1"}
    assert [c["rating"] for c in data["csat"]] == [4]
    assert [g["query"] for g in data["knowledge_feedback"]["kb_gaps"]] == [f"{ANNA} cannot log in"]
    assert len(data["knowledge_feedback"]["kb_votes"]) == 1
    conversations = data["conversations"]
    assert set(conversations) == {"anna-chat-1", "anna-chat-2", "anna-chat-3", "anna-chat-4"}
    # Sealed values are the customer's own data: readable in the export.
    slots = [e["value"] for e in conversations["anna-chat-1"] if e["event"] == "slot"]
    assert slots == [ANNA]
    json.dumps(data)  # JSON-ready as it is
    assert export_customer(world.databases, "nobody@example.com") is None


def test_forget_erases_the_customer_everywhere_and_keeps_everyone_else(world: World) -> None:
    lin_before = export_customer(world.databases, LIN)
    report = forget_customer(world.databases, ANNA)
    assert report.found and report.conversations == 4
    assert report.slack_threads == 1

    texts = every_text(world)
    leaks = [(url, where) for url, where, value in texts
             if ANNA in value.lower() or ANNA_NAME.lower() in value.lower()]
    assert leaks == []
    # Conversations gone from the tracker store and from the copy; others kept.
    assert senders(world.tracker_engine) == {"lin-chat-1", "stranger", "old-stranger"}
    assert senders(world.copy_engine) == {"stranger"}
    # Orders kept for bookkeeping, without the address; history and ratings gone.
    with world.store.engine.connect() as conn:
        orders = conn.execute(select(Order.number, Order.status, Order.total,
                                     Order.shipping_address)
                              .where(Order.customer_id == report.customer_id)).all()
        assert len(orders) >= 8 and {o[3] for o in orders} == {"[removed]"}
        assert conn.execute(select(Interaction.conversation_id)).scalars().all() == ["lin-chat-1"]
        forgotten = conn.execute(select(Customer.name, Customer.email, Customer.phone)
                                 .where(Customer.id == report.customer_id)).one()
        assert forgotten[0] == "[forgotten]" and forgotten[2] is None
    card = world.store.customer_card("A10001")
    assert card is not None and card.csat_average is None and card.open_cases[0].subject == \
        "[removed]"
    # Lin is untouched.
    assert export_customer(world.databases, LIN) == {**lin_before, "exported_at": ANY}
    # Export finds nothing; forgetting again changes nothing.
    assert export_customer(world.databases, ANNA) is None
    before = every_text(world)
    assert forget_customer(world.databases, ANNA).found is False
    assert every_text(world) == before


def test_forget_finds_a_name_written_in_chinese_inside_tracker_json(world: World) -> None:
    assert "lin-chat-1" in conversation_ids_in(world.databases, LIN)
    report = forget_customer(world.databases, LIN)
    assert report.found
    leaks = [where for _, where, value in every_text(world)
             if LIN in value.lower() or LIN_NAME in value
             or json.dumps(LIN_NAME)[1:-1] in value]
    assert leaks == []
    assert "lin-chat-1" not in senders(world.tracker_engine)
    assert export_customer(world.databases, ANNA) is not None  # Anna is still there


def test_purge_removes_old_conversations_and_history_only(world: World) -> None:
    with world.store.engine.begin() as conn:
        conn.execute(Interaction.__table__.update()
                     .where(Interaction.conversation_id == "lin-chat-1")
                     .values(created_at=datetime(2020, 1, 1, tzinfo=timezone.utc)))
    report = purge_older_than(world.databases, timedelta(days=180))
    assert report.conversations == 1 and report.tracker_events == 1
    assert report.rows_deleted == {"interactions": 1}
    assert "old-stranger" not in senders(world.tracker_engine)
    assert {"anna-chat-1", "stranger"} <= senders(world.tracker_engine)
    with world.store.engine.connect() as conn:
        left = set(conn.execute(select(Interaction.conversation_id)).scalars())
    assert left == {"anna-chat-1"}
    again = purge_older_than(world.databases, timedelta(days=180))
    assert again.conversations == 0 and again.rows_deleted == {}


@pytest.mark.parametrize("text", ["180d", "26w", "12h", " 7d "])
def test_ages(text: str) -> None:
    assert parse_age(text) >= timedelta(hours=1)


@pytest.mark.parametrize("text", ["", "180", "0h", "-3d", "1y", "1e9d", "180 days"])
def test_bad_ages_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_age(text)


def test_cli_export_forget_purge(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str],
                                 caplog: pytest.LogCaptureFixture) -> None:
    url = world.databases.store_url
    monkeypatch.setenv("PRIVACY_EXTRA_DATABASES", world.databases.extra_urls[0])
    if not url.startswith("postgres"):
        monkeypatch.setenv("TRACKER_DB", world.databases.tracker_url[len("sqlite:///"):])
    else:
        monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "export.json"
    from mail.spool import Spool  # the e-mail channel's spool: her mail goes, Lin's stays
    spool = Spool(tmp_path / "mail").ensure()
    spool.store(f"From: {ANNA}\r\n\r\nwhere is my order?".encode(), {})
    kept = spool.store(f"From: {LIN}\r\n\r\nhello".encode(), {})
    monkeypatch.setenv("MAIL_SPOOL_DIR", str(tmp_path / "mail"))
    assert cli.main(["--database-url", url, "export", ANNA, "--out", str(out)]) == 0
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported["customer"]["email"] == ANNA and len(exported["conversations"]) == 4
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with caplog.at_level(logging.INFO):
        assert cli.main(["--database-url", url, "forget", ANNA]) == 0
        assert cli.main(["--database-url", url, "forget", ANNA]) == 0
        assert cli.main(["--database-url", url, "export", ANNA]) == 0
        assert cli.main(["--database-url", url, "purge", "--older-than", "180d"]) == 0
    printed = capsys.readouterr()
    assert "anonymised; 4 conversations erased" in printed.out
    assert "1 mails from or to that address deleted" in printed.out
    assert spool.ids("incoming") == [kept]
    assert "nothing changed" in printed.out
    assert "no data is held" in printed.out
    assert "store purge: 1 conversations" in printed.out
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "forget: customer" in logged
    for text in (printed.out, printed.err, logged):
        assert ANNA not in text.lower() and ANNA_NAME.lower() not in text.lower()
    assert cli.main(["--database-url", url, "forget", "not-an-address"]) == 1
    assert cli.main(["--database-url", url, "purge", "--older-than", "soon"]) == 1
    errors = capsys.readouterr().err
    assert "not an e-mail address" in errors and "'soon' is not an age like 180d" in errors


class _Any:
    def __eq__(self, other: object) -> bool:
        return True


ANY = _Any()
