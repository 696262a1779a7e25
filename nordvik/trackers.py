"""Where Rasa's SQL tracker store keeps the conversations: one rule for every reader.

    tracker_database_url({"DATABASE_URL": "postgresql+psycopg2://u@db/nordvik"})
        -> "postgresql+psycopg2://u@db/nordvik"      (conversations share the PostgreSQL database)
    tracker_database_url({})
        -> "sqlite:////<repo>/var/tracker.db"         (their own SQLite file, TRACKER_DB)

Rasa writes there (scripts/rasa_env.py generates its endpoints from this rule); the privacy
commands of the store (`store export | forget | purge`) read and erase conversations there.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from nordvik.env import env_state_path, env_str

DEFAULT_TRACKER_DB = "tracker.db"  # in the installation's state folder (nordvik.env.state_dir)
TRACKER_EVENTS_TABLE = "events"  # Rasa's SQLTrackerStore table: id, sender_id, type_name, ...


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and str(url).startswith("postgres")


def tracker_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    """The SQLite file of the tracker store when DATABASE_URL is not PostgreSQL."""
    return env_state_path(env, "TRACKER_DB", DEFAULT_TRACKER_DB)


def tracker_database_url(env: Mapping[str, str] | None = None) -> str:
    """A SQLAlchemy URL of the database holding Rasa's `events` table."""
    database_url = env_str(env, "DATABASE_URL")
    if is_postgres_url(database_url):
        return database_url
    return f"sqlite:///{tracker_sqlite_path(env)}"
