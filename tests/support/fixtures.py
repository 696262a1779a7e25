"""Pytest fixtures for bot tests; import them into a conftest.py:

    from tests.support.fixtures import rasa_model, test_store  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import store
from scripts.train import ensure_model
from store.repository import OrderStore
from tests.support.store import make_test_store, sqlite_url


@pytest.fixture(scope="session")
def rasa_model() -> Path:
    """The trained model for this test session (trained once, only if the inputs changed)."""
    return ensure_model(quiet=True).model


@pytest.fixture()
def test_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[OrderStore]:
    """A fresh SQLite order store with the known orders; the actions in this process use it."""
    url = sqlite_url(tmp_path / "store.db")
    crm = make_test_store(url)
    monkeypatch.setenv("DATABASE_URL", url)
    store.get_store.cache_clear()
    yield crm
    store.get_store.cache_clear()
    crm.engine.dispose()
