"""Alembic revision chains run in-process, configured in code (no alembic.ini).

Each package that owns tables (the store; analytics) has one chain: its migrations folder and
its own version table, so chains that share a database never see each other's revisions.

    STORE = RevisionChain(Path("store/migrations"), version_table="store_schema_version")
    STORE.head()                        -> "0003"
    STORE.current(connection)           -> "0002", or None when never migrated
    STORE.upgrade(connection, "head")   -> "0003" (committed)

and in the chain's migrations/env.py:

    STORE.run_env(context, Base.metadata, default_engine=lambda: make_engine(url))
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine


class RevisionChain:
    """One package's Alembic revisions and the version table that records them."""

    def __init__(self, directory: Path, *, version_table: str) -> None:
        self.directory = directory
        self.version_table = version_table

    def config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.directory))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def head(self) -> str | None:
        """The newest revision the package ships."""
        head = ScriptDirectory.from_config(self.config()).get_current_head()
        return None if head is None else str(head)

    def current(self, connection: Connection) -> str | None:
        """The revision the database is at (None: never migrated)."""
        context = MigrationContext.configure(connection,
                                             opts={"version_table": self.version_table})
        revision = context.get_current_revision()
        return None if revision is None else str(revision)

    def upgrade(self, connection: Connection, revision: str = "head") -> str | None:
        """Upgrade in place (rows kept) and commit; the revision reached. Alembic's CommandError
        (an unknown revision: a database from newer code) propagates."""
        command.upgrade(self.config(connection), revision)
        connection.commit()
        return self.current(connection)

    def run_env(self, context: Any, metadata: Any, *, default_engine: Callable[[], Engine],
                include_object: Callable[..., bool] | None = None) -> None:
        """The body of the chain's migrations/env.py: migrate the connection the caller handed
        over (`upgrade`), or one of `default_engine` (the alembic CLI)."""
        if context.is_offline_mode():  # pragma: no cover - migrations always run online
            raise SystemExit("offline (SQL script) migrations are not supported")

        def run(connection: Connection) -> None:
            options: dict[str, Any] = {}
            if include_object is not None:
                options["include_object"] = include_object
            context.configure(connection=connection, target_metadata=metadata,
                              version_table=self.version_table, compare_type=True,
                              render_as_batch=True,  # SQLite rebuilds tables to alter them
                              **options)
            with context.begin_transaction():
                context.run_migrations()

        connection = context.config.attributes.get("connection")
        if connection is not None:
            run(connection)
            return
        engine = default_engine()
        try:
            with engine.connect() as owned:
                run(owned)
                owned.commit()
        finally:
            engine.dispose()
