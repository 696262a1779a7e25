"""Rasa's effective endpoints file, generated from the environment.

Rasa's endpoints.yml cannot branch on environment variables, so `make run` and the tests write
the file Rasa actually uses (default `var/endpoints.yml`) from these settings:

- `DATABASE_URL`: a `postgresql...` URL puts the SQL tracker store in that PostgreSQL database;
  otherwise (the SQLite default) conversations go to their own SQLite file `TRACKER_DB`
  (default `var/tracker.db`), apart from the order store to avoid lock contention.
- `REDIS_URL` (`redis://[:password@]host:port/db`): the Redis lock store, keys prefixed with
  `RASA_LOCK_PREFIX` (default `nordvik`); otherwise the in-memory lock store.
- `ACTION_SERVER_URL` (default `http://127.0.0.1:<ACTION_PORT or 5055>/webhook`).

CLI: `python -m scripts.rasa_env [--out PATH]` writes the file and prints its path.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENDPOINTS = ROOT / "var" / "endpoints.yml"


class EndpointSettingsError(ValueError):
    """An environment variable that configures Rasa's endpoints has an unusable value."""


@dataclass(frozen=True)
class RasaSettings:
    """Where Rasa keeps conversations and locks, and where it finds the action server."""

    database_url: str | None
    tracker_db: Path
    redis_url: str | None
    lock_key_prefix: str
    action_server_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RasaSettings:
        env = os.environ if env is None else env
        tracker_db = Path(env.get("TRACKER_DB") or ROOT / "var" / "tracker.db")
        if not tracker_db.is_absolute():
            tracker_db = ROOT / tracker_db
        action_port = env.get("ACTION_PORT") or "5055"
        prefix = env.get("RASA_LOCK_PREFIX") or "nordvik"
        if not re.fullmatch(r"[A-Za-z0-9]+", prefix):
            raise EndpointSettingsError(
                f"RASA_LOCK_PREFIX must be letters and digits only, got {prefix!r}"
            )
        return cls(
            database_url=env.get("DATABASE_URL") or None,
            tracker_db=tracker_db,
            redis_url=env.get("REDIS_URL") or None,
            lock_key_prefix=prefix,
            action_server_url=env.get("ACTION_SERVER_URL")
            or f"http://127.0.0.1:{action_port}/webhook",
        )


def tracker_store_config(settings: RasaSettings) -> dict[str, Any]:
    """SQL tracker store: PostgreSQL when DATABASE_URL names one, else a SQLite file."""
    url = settings.database_url
    if url and url.startswith("postgres"):
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise EndpointSettingsError(
                "DATABASE_URL must name a host and a database, "
                f"e.g. postgresql+psycopg2://user@127.0.0.1:5432/dbname (got scheme {parts.scheme})"
            )
        config: dict[str, Any] = {
            "type": "SQL",
            "dialect": parts.scheme,
            "url": parts.hostname,
            "port": parts.port or 5432,
            "db": unquote(parts.path.strip("/")),
        }
        if config["dialect"] == "postgres":
            config["dialect"] = "postgresql"
        if parts.username:
            config["username"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
        return config
    return {"type": "SQL", "dialect": "sqlite", "db": str(settings.tracker_db)}


def lock_store_config(settings: RasaSettings) -> dict[str, Any]:
    """Redis lock store when REDIS_URL is set, else in-memory."""
    if not settings.redis_url:
        return {"type": "in_memory"}
    parts = urlsplit(settings.redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise EndpointSettingsError(
            f"REDIS_URL must look like redis://host:6379/0 (got scheme {parts.scheme!r})"
        )
    db_text = parts.path.strip("/") or "0"
    if not db_text.isdigit():
        raise EndpointSettingsError(f"REDIS_URL database must be a number, got {db_text!r}")
    config: dict[str, Any] = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db_text),
        "key_prefix": settings.lock_key_prefix,
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def endpoints_config(settings: RasaSettings) -> dict[str, Any]:
    return {
        "action_endpoint": {"url": settings.action_server_url},
        "tracker_store": tracker_store_config(settings),
        "lock_store": lock_store_config(settings),
    }


def event_broker_section(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Rasa's `event_broker` for the analytics consumer; analytics/settings.py owns its variables:
    RABBITMQ_URL gives Rasa's Pika broker, else its SQL broker writes a SQLite file (EVENTS_DB,
    default events.db beside TRACKER_DB); ANALYTICS_EVENTS=0 turns it off."""
    from analytics.settings import event_broker_config

    config = event_broker_config(env)
    return {"event_broker": config} if config else {}


def write_endpoints(env: Mapping[str, str] | None = None, path: Path | None = None) -> Path:
    """Write the effective endpoints file (git-ignored; may hold a password, so mode 0600)."""
    settings = RasaSettings.from_env(env)
    target = path or DEFAULT_ENDPOINTS
    target.parent.mkdir(parents=True, exist_ok=True)
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    text = "# Generated by scripts/rasa_env.py from the environment; do not edit.\n"
    text += yaml.safe_dump({**endpoints_config(settings), **event_broker_section(env)},
                           sort_keys=False)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_ENDPOINTS, help="file to write")
    args = parser.parse_args(argv)
    print(write_endpoints(path=args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
