"""The generated endpoints file: SQL tracker store (SQLite/PostgreSQL) and lock store (Redis)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from scripts.rasa_env import (
    TRACKER_STORE_CLASS,
    EndpointSettingsError,
    RasaSettings,
    write_endpoints,
)
from tests.support.redis import redis_or_skip
from tests.support.services import unavailable

ROOT = Path(__file__).resolve().parents[2]


def load(path: Path, key: str):  # type: ignore[no-untyped-def]
    return read_endpoint_config(str(path), key)


def test_defaults_are_sqlite_tracker_and_in_memory_lock(tmp_path: Path) -> None:
    path = write_endpoints({"TRACKER_DB": str(tmp_path / "t.db")}, tmp_path / "e.yml")
    tracker_cfg = load(path, "tracker_store")
    assert tracker_cfg.type == TRACKER_STORE_CLASS and tracker_cfg.kwargs["dialect"] == "sqlite"
    assert tracker_cfg.kwargs["db"] == str(tmp_path / "t.db")
    assert isinstance(LockStore.create(load(path, "lock_store")), InMemoryLockStore)
    assert load(path, "action_endpoint").url == "http://127.0.0.1:5055/webhook"
    # only the form validators get the domain (the catalogue) with each call
    assert load(path, "action_endpoint").kwargs["enable_selective_domain"] is True
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_sqlite_tracker_store_keeps_a_conversation(tmp_path: Path) -> None:
    path = write_endpoints({"TRACKER_DB": str(tmp_path / "t.db")}, tmp_path / "e.yml")
    domain = Domain.load(str(ROOT / "domain"))
    tracker_store = TrackerStore.create(load(path, "tracker_store"), domain)
    assert isinstance(tracker_store, SQLTrackerStore)
    _round_trip(tracker_store, domain)


def test_postgres_url_is_split_for_rasa(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql+psycopg2://bot:s3cr%40t@db.internal:6543/nordvik"}
    cfg = load(write_endpoints(env, tmp_path / "e.yml"), "tracker_store")
    assert cfg.url == "db.internal"
    assert cfg.kwargs == {"dialect": "postgresql+psycopg2", "port": 6543, "db": "nordvik",
                          "username": "bot", "password": "s3cr@t"}


def test_action_server_url_follows_the_port() -> None:
    assert RasaSettings.from_env({"ACTION_PORT": "6001"}).action_server_url == (
        "http://127.0.0.1:6001/webhook"
    )


@pytest.mark.parametrize("env", [
    {"REDIS_URL": "http://127.0.0.1:6379"},
    {"REDIS_URL": "redis://127.0.0.1:6379/notanumber"},
    {"RASA_LOCK_PREFIX": "has:colon"},
    {"DATABASE_URL": "postgresql://"},
])
def test_bad_settings_are_named(env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(EndpointSettingsError) as error:
        write_endpoints(env, tmp_path / "e.yml")
    assert next(iter(env)) in str(error.value)


def _round_trip(tracker_store: TrackerStore, domain: Domain) -> None:
    import asyncio

    sender = f"conv-{uuid.uuid4().hex[:8]}"
    tracker = DialogueStateTracker.from_events(
        sender, [UserUttered("where is my order?"), SlotSet("verified_order", "A10001")],
        slots=domain.slots,
    )

    async def go() -> DialogueStateTracker | None:
        await tracker_store.save(tracker)
        return await tracker_store.retrieve(sender)

    loaded = asyncio.run(go())
    assert loaded is not None
    assert loaded.get_slot("verified_order") == "A10001"
    assert loaded.latest_message is not None
    assert loaded.latest_message.text == "where is my order?"


@pytest.fixture()
def postgres_database() -> Iterator[str]:
    psycopg2 = pytest.importorskip("psycopg2")
    name = f"test_tracker_{uuid.uuid4().hex[:10]}"
    admin_url = None
    for user in ("postgres", "root"):
        try:
            conn = psycopg2.connect(host="127.0.0.1", port=5432, user=user, dbname="test",
                                    connect_timeout=3)
            admin_url = user
            break
        except psycopg2.OperationalError:
            continue
    if admin_url is None:
        unavailable("PostgreSQL on 127.0.0.1:5432 is not reachable")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://{admin_url}@127.0.0.1:5432/{name}"
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.mark.postgres
def test_postgres_tracker_store_keeps_a_conversation(postgres_database: str,
                                                     tmp_path: Path) -> None:
    path = write_endpoints({"DATABASE_URL": postgres_database}, tmp_path / "e.yml")
    domain = Domain.load(str(ROOT / "domain"))
    tracker_store = TrackerStore.create(load(path, "tracker_store"), domain)
    assert isinstance(tracker_store, SQLTrackerStore)
    assert tracker_store.engine.dialect.name == "postgresql"
    _round_trip(tracker_store, domain)
    tracker_store.engine.dispose()


@pytest.mark.redis
async def test_redis_lock_store_is_shared_between_servers(tmp_path: Path) -> None:
    client = redis_or_skip(db=5)
    prefix = f"test{uuid.uuid4().hex[:12]}"
    path = write_endpoints(
        {"REDIS_URL": "redis://127.0.0.1:6379/5", "RASA_LOCK_PREFIX": prefix}, tmp_path / "e.yml"
    )
    try:
        first = LockStore.create(load(path, "lock_store"))
        second = LockStore.create(load(path, "lock_store"))  # a second Rasa server
        assert isinstance(first, RedisLockStore) and isinstance(second, RedisLockStore)
        async with first.lock("conv-1"):
            assert client.keys(f"{prefix}*"), "the lock lives in Redis under our prefix"
            seen = second.get_lock("conv-1")
            assert seen is not None and seen.tickets, "the other server sees the held lock"
            assert seen.is_locked(seen.last_issued + 1)
        after = second.get_lock("conv-1")
        assert after is None or not after.tickets
    finally:
        keys = client.keys(f"{prefix}*")
        if keys:
            client.delete(*keys)
