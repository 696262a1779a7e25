"""Alembic environment of the analytics tables; run through ``analytics.migrate``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from analytics.db import metadata
from analytics.migrate import VERSION_TABLE

config = context.config


def _only_analytics(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    """The store's tables share the database; this chain looks at its own tables only."""
    if type_ == "table":
        return bool(name and name.startswith("analytics_"))
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_object=_only_analytics,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from analytics.db import make_engine
    from analytics.settings import AnalyticsSettings

    engine = make_engine(AnalyticsSettings.from_env().database_url)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover
    raise SystemExit("offline migrations are not supported; use python -m analytics.migrate")
main()
