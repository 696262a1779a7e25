"""A uniquely named PostgreSQL database per use, dropped afterwards: concurrent runs never meet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tests.support.services import unavailable

PG_ADMIN_URL = os.environ.get(
    "STORE_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_pg_database() -> Iterator[str]:
    """A uniquely named, empty PostgreSQL database, dropped afterwards; skips if unreachable."""
    admin = create_engine(
        PG_ADMIN_URL, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"store_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = make_url(PG_ADMIN_URL)
        unavailable(f"PostgreSQL at {where.host}:{where.port or 5432} is unreachable: {first}")
    try:
        yield str(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
