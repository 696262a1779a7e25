"""Pytest fixtures for bot tests; import them into a conftest.py:

    from tests.support.fixtures import rasa_model, test_store  # noqa: F401
    from tests.support.fixtures import shipped_kb_index, kb_server  # noqa: F401
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

import store
from kb_index.settings import KbSettings
from scripts.train import ensure_model
from store.repository import OrderStore
from tests.support.knowledge import (
    KbServer,
    build_shipped_index,
    running_kb_serve,
    shipped_index_settings,
)
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


@pytest.fixture(scope="session")
def shipped_kb_index(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> KbSettings:
    """The shipped articles built with the packaged model, in this session's own tmp dir.

    Under pytest-xdist the workers of one run build them once: the first builds into the run's
    common tmp folder (under a file lock), and each worker copies the result into its own."""
    own = tmp_path_factory.mktemp("shipped-kb") / "kb"
    if worker_id == "master":  # not distributed: nothing to share
        return build_shipped_index(own)
    shared = tmp_path_factory.getbasetemp().parent / "shipped-kb"
    with FileLock(f"{shared}.lock"):
        if not (shared / "built").is_file():
            build_shipped_index(shared / "kb")
            (shared / "built").touch()
    shutil.copytree(shared / "kb", own)
    return shipped_index_settings(own)


@pytest.fixture(scope="session")
def kb_server(
    shipped_kb_index: KbSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KbServer]:
    """A real `kb serve` on the shipped index; `kb_server.stopped()` takes it down for a while."""
    log = tmp_path_factory.mktemp("kb-serve") / "kb_serve.log"
    with running_kb_serve(shipped_kb_index, log) as server:
        yield server
