"""Alembic environment of the order store; run through ``store.migrate``, not the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from store.migrate import VERSION_TABLE
from store.models import Base

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=VERSION_TABLE,
        render_as_batch=True,  # SQLite cannot ALTER constraints; batch mode rebuilds the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from store.db import make_engine
    from store.settings import StoreSettings

    engine = make_engine(StoreSettings.from_env().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - the store always migrates online
    raise SystemExit("offline (SQL script) migrations are not supported; use store.cli migrate")
main()
