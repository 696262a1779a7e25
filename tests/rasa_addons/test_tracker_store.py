"""The tracker store keeps no e-mail address at rest and gives the conversation back intact."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from nordvik.secrets import seal, unseal
from rasa_addons.tracker_store import (
    MaskingSQLTrackerStore,
    SQLEventBroker,
    mask_event,
    unmask_event,
)

ADDRESS = "Anna.Berg@example.com"
DOMAIN = Domain.from_dict({
    "intents": ["inform"],
    "entities": ["email"],
    "slots": {
        "email": {"type": "any", "mappings": [{"type": "custom"}]},
        "order_number": {"type": "any", "mappings": [{"type": "custom"}]},
    },
})


class Collector(EventBroker):
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    def publish(self, event: dict[str, Any]) -> None:
        self.published.append(event)


def conversation(sender: str) -> DialogueStateTracker:
    parse = {"text": f"it is {ADDRESS}", "intent": {"name": "inform", "confidence": 0.9},
             "entities": [{"entity": "email", "value": ADDRESS, "start": 6, "end": 27}]}
    return DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_listen"),
        UserUttered(f"it is {ADDRESS}", parse_data=parse,
                    metadata={"client": "abc", "note": f"from {ADDRESS}"}),
        SlotSet("email", ADDRESS),
        SlotSet("order_number", "A10001"),
        BotUttered(f"Thanks, I will check {ADDRESS.lower()}", data={"buttons": [
            {"title": "yes", "payload": f'/inform{{"email": "{ADDRESS}"}}'}]}),
        SlotSet("email", seal("kept@example.com", purpose="email")),
    ], slots=DOMAIN.slots)


def test_mask_event_masks_every_string_and_seals_an_address_slot() -> None:
    user = mask_event(UserUttered(f"mail {ADDRESS} now", parse_data={
        "text": f"mail {ADDRESS} now", "entities": [{"value": ADDRESS}]},
        metadata={"x": [ADDRESS]}).as_dict())
    assert ADDRESS.lower() not in json.dumps(user).lower()
    assert user["text"] == "mail [e-mail] now"
    assert user["parse_data"]["entities"][0]["value"] == "[e-mail]"
    slot = mask_event(SlotSet("email", ADDRESS).as_dict())
    assert slot["value"].startswith("sealed:v1:") and ADDRESS not in json.dumps(slot)
    assert unmask_event(slot)["value"] == ADDRESS
    sealed = seal(ADDRESS, purpose="email")
    kept = mask_event(SlotSet("email", sealed).as_dict())
    assert kept["value"] == sealed  # the actions' sealed value is left alone
    assert unmask_event(kept)["value"] == sealed  # and not opened by the store either
    # Text that merely contains an address is masked, not sealed.
    assert mask_event(SlotSet("note", f"x {ADDRESS}").as_dict())["value"] == "x [e-mail]"


def test_the_sql_store_holds_no_address_and_returns_the_conversation(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    broker = Collector()
    store = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db),
                                   event_broker=broker)
    tracker = conversation("conv-1")
    asyncio.run(store.save(tracker))
    with sqlite3.connect(db) as conn:
        stored = [row[0] for row in conn.execute("SELECT data FROM events ORDER BY id")]
    assert len(stored) == len(tracker.events)
    everything = "\n".join(stored).lower()
    assert ADDRESS.lower() not in everything and "kept@example.com" not in everything
    assert "[e-mail]" in everything
    # The event broker gets the same masked events (analytics never sees an address).
    assert broker.published and ADDRESS.lower() not in json.dumps(broker.published).lower()

    again = asyncio.run(store.retrieve("conv-1"))
    assert again is not None
    assert again.get_slot("order_number") == "A10001"
    assert unseal(again.get_slot("email"), purpose="email") == "kept@example.com"
    slots = [e.value for e in again.events if isinstance(e, SlotSet) and e.key == "email"]
    assert slots[0] == ADDRESS  # the address slot comes back as it was set
    assert again.latest_message is not None and again.latest_message.text == "it is [e-mail]"

    # A second save stores only the new events, masked as well.
    again.update(UserUttered(f"and {ADDRESS}?"))
    asyncio.run(store.save(again))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events ORDER BY id").fetchall()
    assert len(rows) == len(tracker.events) + 1
    assert json.loads(rows[-1][0])["text"] == "and [e-mail]?"


def test_database_errors_do_not_quote_the_event(tmp_path: Path) -> None:
    store = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    assert store.engine.hide_parameters is True


class CountingBroker(SQLEventBroker):
    """The batching SQL broker, counting its transactions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        self.batches.append(len(events))
        super().publish_many(events)


def test_each_event_is_stored_and_published_once_per_turn(tmp_path: Path) -> None:
    broker = CountingBroker(dialect="sqlite", db=str(tmp_path / "events.db"))
    store = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"),
                                   event_broker=broker)
    tracker = conversation("conv-2")
    asyncio.run(store.save(tracker))
    tracker.update(UserUttered(f"one more from {ADDRESS}"))
    tracker.update(ActionExecuted("action_listen"))
    asyncio.run(store.save(tracker))
    asyncio.run(store.save(tracker))  # nothing new: nothing stored, nothing published
    # one transaction per save that had something new, holding that save's events
    assert broker.batches == [len(tracker.events) - 2, 2]
    with sqlite3.connect(tmp_path / "events.db") as conn:
        rows = conn.execute("SELECT sender_id, data FROM events ORDER BY id").fetchall()
    with sqlite3.connect(tmp_path / "t.db") as conn:
        stored = [json.loads(row[0]) for row in conn.execute(
            "SELECT data FROM events ORDER BY id")]
    published = [json.loads(data) for _, data in rows]
    assert {sender for sender, _ in rows} == {"conv-2"}
    # the broker's rows are Rasa's (sender_id and the event), the same masked events, in order
    assert [{k: v for k, v in event.items() if k != "sender_id"} for event in published] == stored
    assert len(stored) == len(tracker.events)
    assert ADDRESS.lower() not in json.dumps(published).lower()


def test_sqlite_files_are_written_in_wal_mode_on_kept_connections(tmp_path: Path) -> None:
    store = MaskingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"))
    broker = SQLEventBroker(dialect="sqlite", db=str(tmp_path / "events.db"))
    for engine in (store.engine, broker.engine):
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            first = conn.connection.dbapi_connection
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection is first  # the connection was kept
    asyncio.run(store.save(conversation("conv-3")))
    assert asyncio.run(store.retrieve("conv-3")) is not None


@pytest.mark.postgres
def test_the_postgres_store_holds_no_address() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.store.pg import fresh_pg_database

    with fresh_pg_database() as url:
        parts = make_url(url)
        store = MaskingSQLTrackerStore(domain=DOMAIN, dialect="postgresql", host=parts.host,
                                       port=parts.port, db=parts.database,
                                       username=parts.username)
        asyncio.run(store.save(conversation("conv-pg")))
        again = asyncio.run(store.retrieve("conv-pg"))
        store.engine.dispose()
        engine = create_engine(url, future=True)
        with engine.connect() as conn:
            stored = "\n".join(conn.execute(text("SELECT data FROM events")).scalars())
        engine.dispose()
    assert ADDRESS.lower() not in stored.lower() and "[e-mail]" in stored
    assert again is not None and again.get_slot("order_number") == "A10001"
