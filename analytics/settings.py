"""Settings of the analytics pipeline (event broker, consumer, facts database), read once.

Where the events come from:
- `RABBITMQ_URL` (e.g. `amqp://guest:guest@127.0.0.1:5672/%2F`): Rasa's Pika event broker
  publishes to the fanout exchange `ANALYTICS_EXCHANGE` (default `rasa-exchange`), bound to the
  durable queue `ANALYTICS_QUEUE` (default `nordvik_analytics`), which the consumer reads.
- otherwise (the embedded default): Rasa's SQL event broker writes every event into a SQLite
  file, `EVENTS_DB`, default `events.db` next to Rasa's SQLite tracker store (`TRACKER_DB`,
  default `var/tracker.db`), and the consumer tails its `events` table by row id. It cannot share
  the tracker's file or database: Rasa names both tables `events`.

Where the facts go: `ANALYTICS_DATABASE_URL`; default `DATABASE_URL` when that is PostgreSQL,
else its own SQLite file `var/analytics.db` (measured: bench/analytics_contention.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from nordvik.env import (
    REPO_ROOT,
    SettingsError,
    env_bool,
    env_float,
    env_int,
    env_path,
    env_str,
    resolve_sqlite_url,
    source,
    state_dir,
)
from nordvik.trackers import tracker_sqlite_path

DEFAULT_ANALYTICS_DB = "analytics.db"  # in the installation's state folder


class AnalyticsError(Exception):
    """Base class of the analytics package's errors."""


class AnalyticsSettingsError(AnalyticsError, SettingsError):
    """An environment variable of the analytics pipeline has an unusable value."""


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def tracker_db_path(env: Mapping[str, str] | None = None) -> Path:
    """Rasa's SQLite tracker file (the same rule as scripts/rasa_env.py)."""
    return tracker_sqlite_path(env)


def events_db_path(env: Mapping[str, str] | None = None) -> Path:
    """The SQL event broker's SQLite file: EVENTS_DB, else events.db beside the tracker file."""
    if env_str(env, "EVENTS_DB"):
        return env_path(env, "EVENTS_DB")
    return tracker_db_path(env).parent / "events.db"


@dataclass(frozen=True)
class RabbitSettings:
    """Where the Pika event broker publishes and the consumer reads."""

    url: str
    host: str
    port: int
    username: str
    password: str
    vhost: str
    queue: str
    exchange: str

    @classmethod
    def parse(cls, url: str, queue: str, exchange: str) -> RabbitSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("amqp", "amqps") or not parts.hostname:
            raise AnalyticsSettingsError(
                f"RABBITMQ_URL must look like amqp://user:password@host:5672/%2F "
                f"(got scheme {parts.scheme!r})"
            )
        try:
            port = parts.port or (5671 if parts.scheme == "amqps" else 5672)
        except ValueError as exc:
            raise AnalyticsSettingsError("RABBITMQ_URL has an invalid port") from exc
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return cls(
            url=url, host=parts.hostname, port=port,
            username=unquote(parts.username or "guest"),
            password=unquote(parts.password or "guest"),
            vhost=vhost or "/", queue=queue, exchange=exchange,
        )

    def broker_config(self) -> dict[str, Any]:
        """Rasa's `event_broker` endpoint for its PikaEventBroker."""
        scheme = urlsplit(self.url).scheme
        return {
            "type": "pika",
            "url": f"{scheme}://{self.host}:{self.port}/{quote(self.vhost, safe='')}",
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "queues": [self.queue],
            "exchange_name": self.exchange,
            "raise_on_failure": False,
        }


@dataclass(frozen=True)
class AnalyticsSettings:
    """The event source, the facts database and the consumer's pace."""

    database_url: str
    events_db: Path
    rabbit: RabbitSettings | None
    poll_seconds: float = 1.0
    batch_size: int = 500
    review_file: Path = REPO_ROOT / "data" / "nlu" / "review.yml"
    low_csat: int = 2
    sqlite_busy_timeout_ms: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AnalyticsSettings:
        values = source(env)
        try:
            explicit = env_str(env, "ANALYTICS_DATABASE_URL")
            shared = env_str(env, "DATABASE_URL")
            if explicit:
                database_url = resolve_sqlite_url(explicit)
            elif shared.startswith("postgres"):
                database_url = shared
            else:
                database_url = _sqlite_url(state_dir(env) / DEFAULT_ANALYTICS_DB)
            rabbit_url = env_str(env, "RABBITMQ_URL")
            rabbit = (
                RabbitSettings.parse(
                    rabbit_url,
                    env_str(env, "ANALYTICS_QUEUE"),
                    env_str(env, "ANALYTICS_EXCHANGE"),
                )
                if rabbit_url else None
            )
            return cls(
                database_url=database_url,
                events_db=events_db_path(values),
                rabbit=rabbit,
                poll_seconds=env_float(env, "ANALYTICS_POLL_SECONDS", low=0.05, high=60),
                batch_size=env_int(env, "ANALYTICS_BATCH_SIZE", low=1, high=10_000),
                review_file=env_path(env, "ANALYTICS_REVIEW_FILE"),
                low_csat=env_int(env, "ANALYTICS_LOW_CSAT", low=1, high=5),
                sqlite_busy_timeout_ms=env_int(
                    env, "STORE_SQLITE_BUSY_TIMEOUT_MS", low=0
                ),
            )
        except AnalyticsSettingsError:
            raise
        except SettingsError as exc:
            raise AnalyticsSettingsError(str(exc)) from exc

    def event_broker_config(self) -> dict[str, Any]:
        """Rasa's `event_broker` endpoint: Pika with RABBITMQ_URL, else the SQLite SQL broker."""
        if self.rabbit is not None:
            return self.rabbit.broker_config()
        return {"type": "SQL", "dialect": "sqlite", "db": str(self.events_db)}


def event_broker_config(env: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """For scripts/rasa_env.py: the `event_broker` section, or None with ANALYTICS_EVENTS=0."""
    try:
        enabled = env_bool(env, "ANALYTICS_EVENTS")
    except SettingsError as exc:
        raise AnalyticsSettingsError(str(exc)) from exc
    if not enabled:
        return None
    settings = AnalyticsSettings.from_env(env)
    settings.events_db.parent.mkdir(parents=True, exist_ok=True)
    return settings.event_broker_config()


def privacy_database_urls(env: Mapping[str, str] | None = None) -> list[str]:
    """For customer_data.forget: the database holding copies of conversations (analytics tables)."""
    return [AnalyticsSettings.from_env(env).database_url]
