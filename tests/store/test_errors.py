"""A store that cannot be reached, or was never migrated, says so clearly; settings are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

import store
from nordvik.env import REPO_ROOT, state_dir
from store.errors import StoreError, StoreUnavailable
from store.migrate import upgrade
from store.repository import OrderStore
from store.settings import StoreSettings, resolve_database_url

CLOSED_PORT = "postgresql+psycopg2://nordvik:s3cret-pw@127.0.0.1:1/nordvik"


def test_a_closed_port_raises_store_unavailable_naming_the_database() -> None:
    down = OrderStore.from_url(CLOSED_PORT)
    with pytest.raises(StoreUnavailable) as info:
        down.verify_order("A10001", "anna.svensson@example.com")
    message = str(info.value)
    assert "127.0.0.1:1/nordvik" in message
    assert "s3cret-pw" not in message
    for call in (
        lambda: down.get_order("A10001"),
        lambda: down.cancel_order("A10001", "a@example.com"),
        lambda: down.open_case(subject="x", channel="chat"),
        lambda: down.record_csat(conversation_id="c", rating=5),
        down.ping,
    ):
        with pytest.raises(StoreUnavailable):
            call()
    with pytest.raises(StoreUnavailable, match="127.0.0.1:1"):
        upgrade(CLOSED_PORT)


def test_get_store_reads_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", CLOSED_PORT)
    store.get_store.cache_clear()
    try:
        with pytest.raises(StoreUnavailable, match="127.0.0.1:1"):
            store.get_store().customer_id_for_order("A10001")
    finally:
        store.get_store.cache_clear()


def test_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    empty = OrderStore.from_url(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StoreUnavailable, match="migrate"):
        empty.verify_order("A10001", "anna.svensson@example.com")


@pytest.mark.parametrize(
    "url", ["not a url", "nosuchdb://x/y", "sqlite:////proc/nordvik-no-such-dir/x/store.db"]
)
def test_unusable_urls_raise_store_unavailable(url: str) -> None:
    with pytest.raises(StoreUnavailable):
        OrderStore.from_url(url).ping()


def test_default_sqlite_path_is_in_the_state_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.chdir("/")
    assert StoreSettings.from_env({}).database_url == f"sqlite:///{REPO_ROOT / 'var' / 'store.db'}"
    settings = StoreSettings.from_env()
    assert settings.database_url == f"sqlite:///{state_dir() / 'store.db'}"
    assert settings.return_window_days == 30
    assert resolve_database_url("sqlite:///var/test.db") == f"sqlite:///{REPO_ROOT}/var/test.db"
    assert resolve_database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
    assert resolve_database_url("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("value", ["abc", "-1", "3.5"])
def test_bad_return_window_is_rejected(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("RETURN_WINDOW_DAYS", value)
    with pytest.raises(StoreError, match="RETURN_WINDOW_DAYS"):
        StoreSettings.from_env()


def test_settings_are_frozen() -> None:
    settings = StoreSettings()
    with pytest.raises(AttributeError):
        settings.return_window_days = 5  # type: ignore[misc]
