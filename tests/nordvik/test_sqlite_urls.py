"""One rule for relative SQLite URLs, used by the store, analytics and the kb feedback tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import AnalyticsSettings
from kb_index.feedback import default_database_url
from nordvik.env import REPO_ROOT, resolve_sqlite_url
from store.settings import resolve_database_url


@pytest.mark.parametrize(("given", "expected"), [
    ("sqlite:///var/x.db", f"sqlite:///{REPO_ROOT}/var/x.db"),
    (" sqlite:///var/x.db?timeout=5 ", f"sqlite:///{REPO_ROOT}/var/x.db?timeout=5"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ("sqlite:///:memory:", "sqlite:///:memory:"),
    ("postgresql+psycopg2://u@127.0.0.1/test", "postgresql+psycopg2://u@127.0.0.1/test"),
])
def test_a_relative_sqlite_path_is_read_from_the_repository_root(given: str,
                                                                 expected: str) -> None:
    assert resolve_sqlite_url(given) == expected
    # the store, analytics and the kb feedback tables read a URL the same way
    assert resolve_database_url(given) == expected
    assert AnalyticsSettings.from_env({"ANALYTICS_DATABASE_URL": given}).database_url == expected


def test_the_feedback_tables_default_to_the_state_folders_store(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("NORDVIK_VAR_DIR", str(tmp_path))
    assert default_database_url() == f"sqlite:///{tmp_path / 'store.db'}"
    assert default_database_url() == resolve_database_url(None)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/other.db?timeout=3")
    assert default_database_url() == f"sqlite:///{REPO_ROOT}/var/other.db?timeout=3"
