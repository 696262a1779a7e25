"""Rasa's effective endpoints file, generated from the environment.

Rasa's endpoints.yml cannot branch on environment variables, so `make run` and the tests write
the file Rasa actually uses (default `var/endpoints.yml`) from these settings:

- `DATABASE_URL`: a `postgresql...` URL puts the SQL tracker store in that PostgreSQL database;
  otherwise (the SQLite default) conversations go to their own SQLite file `TRACKER_DB`
  (default `var/tracker.db`), apart from the order store to avoid lock contention.
- `REDIS_URL` (`redis://[:password@]host:port/db`): the Redis lock store, keys prefixed with
  `RASA_LOCK_PREFIX` (default `nordvik`); otherwise the in-memory lock store.
- `ACTION_SERVER_URL` (default `http://127.0.0.1:<ACTION_PORT or 5055>/webhook`); Rasa sends
  the action server's shared secret `ACTION_SERVER_TOKEN` (else var/secrets/action_server_token)
  with every call as `Authorization: Bearer ...`, and rasa_addons.action_server checks it.
- The tracker store is rasa_addons.tracker_store.MaskingSQLTrackerStore: Rasa's SQL tracker
  store with e-mail addresses masked in every stored event.

It also builds the command lines of the Rasa server and the action server, the same for `make
run`, the tests and the benches (`rasa_server_argv`, `action_server_argv`): Rasa's HTTP API
needs the token RASA_TOKEN (else var/secrets/rasa_token; with RASA_JWT_SECRET also a JWT), the
customer channels stay open, and browsers may call Rasa only from WEB_ORIGINS.

CLI: `python -m scripts.rasa_env [--out PATH]` writes the file and prints its path.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from analytics.settings import event_broker_config
from nordvik.env import env_int, env_str, source, state_dir
from nordvik.secrets import secret
from nordvik.trackers import tracker_sqlite_path
from rasa_addons.settings import web_origins

ROOT = Path(__file__).resolve().parent.parent
TRACKER_STORE_CLASS = "rasa_addons.tracker_store.MaskingSQLTrackerStore"
# Rasa's SQL event broker (same table and rows), a turn's events written in one transaction
SQL_EVENT_BROKER_CLASS = "rasa_addons.tracker_store.SQLEventBroker"


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
    action_server_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RasaSettings:
        env = source(env)
        tracker_db = tracker_sqlite_path(env)
        action_port = env_int(env, "ACTION_PORT", low=1, high=65535)
        prefix = env_str(env, "RASA_LOCK_PREFIX")
        if not re.fullmatch(r"[A-Za-z0-9]+", prefix):
            raise EndpointSettingsError(
                f"RASA_LOCK_PREFIX must be letters and digits only, got {prefix!r}"
            )
        return cls(
            action_server_token=secret("action_server_token", "ACTION_SERVER_TOKEN", env=env),
            database_url=env_str(env, "DATABASE_URL") or None,
            tracker_db=tracker_db,
            redis_url=env_str(env, "REDIS_URL") or None,
            lock_key_prefix=prefix,
            action_server_url=env_str(env, "ACTION_SERVER_URL",
                                      f"http://127.0.0.1:{action_port}/webhook"),
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
            "type": TRACKER_STORE_CLASS,
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
    return {"type": TRACKER_STORE_CLASS, "dialect": "sqlite", "db": str(settings.tracker_db)}


# Rasa's Redis lock store, minus a wait that never ends when a killed replica's ticket expires
LOCK_STORE_CLASS = "rasa_addons.lock_store.RedisLockStore"


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
        "type": LOCK_STORE_CLASS,
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db_text),
        "key_prefix": settings.lock_key_prefix,
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.password:
        config["password"] = unquote(parts.password)
    return config


def action_endpoint_config(settings: RasaSettings) -> dict[str, Any]:
    """The action server's URL and the shared secret Rasa sends with every call. The domain (the
    whole four-language catalogue) goes only to the form validators, which need it; no other
    action reads it, and sending it with every call was most of a call's cost."""
    config: dict[str, Any] = {"url": settings.action_server_url, "enable_selective_domain": True}
    if settings.action_server_token:
        config["headers"] = {"Authorization": f"Bearer {settings.action_server_token}"}
    return config


def endpoints_config(settings: RasaSettings) -> dict[str, Any]:
    return {
        "action_endpoint": action_endpoint_config(settings),
        "tracker_store": tracker_store_config(settings),
        "lock_store": lock_store_config(settings),
    }


def event_broker_section(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Rasa's `event_broker` for the analytics consumer; analytics/settings.py owns its variables:
    RABBITMQ_URL gives Rasa's Pika broker, else its SQL broker writes a SQLite file (EVENTS_DB,
    default events.db beside TRACKER_DB); ANALYTICS_EVENTS=0 turns it off."""
    config = event_broker_config(env)
    if config and config.get("type") == "SQL":
        config = {**config, "type": SQL_EVENT_BROKER_CLASS}
    return {"event_broker": config} if config else {}


def default_endpoints(env: Mapping[str, str] | None = None) -> Path:
    """The endpoints file Rasa uses: `endpoints.yml` in the installation's state folder."""
    return state_dir(env) / "endpoints.yml"


def write_endpoints(env: Mapping[str, str] | None = None, path: Path | None = None) -> Path:
    """Write the effective endpoints file (git-ignored; may hold a password, so mode 0600)."""
    settings = RasaSettings.from_env(env)
    target = path or default_endpoints(env)
    target.parent.mkdir(parents=True, exist_ok=True)
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    text = "# Generated by scripts/rasa_env.py from the environment; do not edit.\n"
    text += yaml.safe_dump({**endpoints_config(settings), **event_broker_section(env)},
                           sort_keys=False)
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)
    return target


def rasa_server_argv(
    env: Mapping[str, str] | None,
    *,
    port: int | str,
    endpoints: Path,
    model: Path | str = "models",
    interface: str | None = None,
    credentials: Path | str = ROOT / "credentials.yml",
    python: str = sys.executable,
) -> list[str]:
    """`rasa run` with the HTTP API behind its token and CORS limited to the widget's pages.

    The token is not on this command line: rasa_addons.rasa_server adds it from RASA_TOKEN /
    var/secrets when it starts (and RASA_JWT_SECRET as --jwt-secret when set).
    """
    env = source(env)
    return [
        python, "-m", "rasa_addons.rasa_server", "run", "--enable-api",
        "--port", str(port), "--interface", interface or env_str(env, "RASA_HOST"),
        "--model", str(model), "--endpoints", str(endpoints), "--credentials", str(credentials),
        "--cors", *web_origins(env),
    ]


def action_server_argv(
    port: int | str, *, actions: str = "actions", python: str = sys.executable
) -> list[str]:
    """The action server: ACTION_HOST (default loopback), every call needs the shared secret."""
    return [python, "-m", "rasa_addons.action_server", "--port", str(port), "--actions", actions]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=None,
                        help="file to write (default: endpoints.yml in the state folder)")
    args = parser.parse_args(argv)
    print(write_endpoints(path=args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
