"""Fixtures shared by the phone tests: each module gets its own order store and fake Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.fixtures import rasa_model, test_store  # noqa: F401
from tests.support.store import make_test_store, sqlite_url
from tests.voice.support import add_callers


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    """The module's order store with the callers' customers and orders."""
    store = make_test_store(sqlite_url(tmp_path_factory.mktemp("voice-store") / "store.db"))
    add_callers(store)
    return store


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake
