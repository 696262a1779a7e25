"""The machine's own servers (PostgreSQL, Redis, RabbitMQ): a developer without one skips the
tests that need it; CI, whose machine starts them before the session, fails instead, so a
server that did not come up cannot turn into a green run that tested less."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from nordvik.env import env_bool


def in_ci() -> bool:
    return env_bool(os.environ, "CI", False)


def unavailable(reason: str) -> NoReturn:
    """Skip the test for `reason` on a developer's machine; fail it in CI (CI=true)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the CI machine starts this server before the run)",
                    pytrace=False)
    pytest.skip(reason)
