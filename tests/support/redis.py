"""The real Redis on 127.0.0.1:6379 for tests, or a skip when it is not running."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.services import unavailable


def redis_or_skip(db: int = 5) -> Any:
    """A client of the local Redis database `db`; skips the test when Redis is not reachable."""
    redis = pytest.importorskip("redis")
    client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        unavailable("Redis on 127.0.0.1:6379 is not reachable")
    return client
