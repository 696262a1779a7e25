"""Settings of the order/CRM store, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nordvik.env import (
    SettingsError,
    env_bool,
    env_int,
    env_str,
    resolve_sqlite_url,
    state_dir,
)
from store.errors import StoreError


def default_sqlite_path(env: Mapping[str, str] | None = None) -> Path:
    """The order/CRM store's SQLite file when DATABASE_URL is unset: in the state folder."""
    return state_dir(env) / "store.db"


def resolve_database_url(raw: str | None, env: Mapping[str, str] | None = None) -> str:
    """The URL to connect to; a relative SQLite path is resolved against the repository root.

    ``sqlite:///var/store.db`` therefore means ``<repo>/var/store.db`` whatever the working
    directory of the process (the action server, the Slack app and the CLI all agree).
    """
    if raw is None or raw.strip() == "":
        return f"sqlite:///{default_sqlite_path(env)}"
    return resolve_sqlite_url(raw)


@dataclass(frozen=True)
class VerificationLimits:
    """How many failed order verifications lock chat verification, across conversations.

    An order number (or a client) is locked when it had `max_per_order` (`max_per_client`)
    failed verifications within any `window_minutes`, the last of them less than
    `lock_minutes` ago. 0 turns a limit off.
    """

    window_minutes: int = 60
    max_per_order: int = 5
    max_per_client: int = 10
    lock_minutes: int = 60

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VerificationLimits:
        return cls(
            window_minutes=env_int(env, "VERIFY_WINDOW_MINUTES", low=1),
            max_per_order=env_int(env, "VERIFY_MAX_PER_ORDER", low=0),
            max_per_client=env_int(env, "VERIFY_MAX_PER_CLIENT", low=0),
            lock_minutes=env_int(env, "VERIFY_LOCK_MINUTES", low=1),
        )


@dataclass(frozen=True)
class StoreSettings:
    """Where the store lives and the business rules it enforces."""

    database_url: str = field(default_factory=lambda: f"sqlite:///{default_sqlite_path()}")
    return_window_days: int = 30
    sqlite_busy_timeout_ms: int = 10_000
    pool_timeout_s: int = 10
    echo_sql: bool = False
    verification_limits: VerificationLimits = VerificationLimits()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        try:
            return cls(
                database_url=resolve_database_url(env_str(env, "DATABASE_URL"), env),
                return_window_days=env_int(env, "RETURN_WINDOW_DAYS", low=0),
                sqlite_busy_timeout_ms=env_int(env, "STORE_SQLITE_BUSY_TIMEOUT_MS", low=0),
                pool_timeout_s=env_int(env, "STORE_POOL_TIMEOUT_S", low=1),
                echo_sql=env_bool(env, "STORE_ECHO_SQL"),
                verification_limits=VerificationLimits.from_env(env),
            )
        except SettingsError as exc:
            raise StoreError(str(exc)) from exc
