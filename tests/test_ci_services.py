"""A missing PostgreSQL, Redis or RabbitMQ: skipped on a developer's machine, a failure in CI."""

from __future__ import annotations

import pytest

from tests.support.services import unavailable


def test_a_missing_server_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis on 127.0.0.1:6379"):
        unavailable("Redis on 127.0.0.1:6379 is not reachable")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_server_fails_in_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        unavailable("PostgreSQL at 127.0.0.1:5432 is unreachable")
