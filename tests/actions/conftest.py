"""Action tests: a fresh SQLite store per test (`test_store`), a test master key for sealing, and
nothing from the environment that points at real services."""

from __future__ import annotations

import pytest

from tests.support.fixtures import test_store  # noqa: F401

_SERVICES = ("SLACK_BOT_TOKEN", "SLACK_HANDOFF_CHANNEL", "SLACK_API_URL", "KB_URL", "KB_TOKEN",
             "KB_MIN_SCORE", "HANDOFF_EXPECTED_WAIT_MINUTES", "VERIFY_WINDOW_MINUTES",
             "VERIFY_MAX_PER_ORDER", "VERIFY_MAX_PER_CLIENT", "VERIFY_LOCK_MINUTES",
             "RETURN_WINDOW_DAYS")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-action-tests-0123456789")
    for name in _SERVICES:
        monkeypatch.delenv(name, raising=False)
