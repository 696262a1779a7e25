"""Settings of the order/CRM store, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from store.errors import StoreError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = REPO_ROOT / "var" / "store.db"


def _env_int(name: str, default: int, low: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise StoreError(f"{name}={raw!r} is not an integer") from exc
    if value < low:
        raise StoreError(f"{name}={value} must be >= {low}")
    return value


def resolve_database_url(raw: str | None) -> str:
    """The URL to connect to; a relative SQLite path is resolved against the repository root.

    ``sqlite:///var/store.db`` therefore means ``<repo>/var/store.db`` whatever the working
    directory of the process (the action server, the Slack app and the CLI all agree).
    """
    if raw is None or raw.strip() == "":
        return f"sqlite:///{DEFAULT_SQLITE_PATH}"
    url = raw.strip()
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        path_part, sep, query = rest.partition("?")
        if path_part and path_part != ":memory:" and not Path(path_part).is_absolute():
            url = f"{prefix}{REPO_ROOT / path_part}{sep}{query}"
    return url


@dataclass(frozen=True)
class StoreSettings:
    """Where the store lives and the business rules it enforces."""

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return_window_days: int = 30
    sqlite_busy_timeout_ms: int = 10_000
    pool_timeout_s: int = 10
    echo_sql: bool = False

    @classmethod
    def from_env(cls) -> StoreSettings:
        return cls(
            database_url=resolve_database_url(os.environ.get("DATABASE_URL")),
            return_window_days=_env_int("RETURN_WINDOW_DAYS", 30, low=0),
            sqlite_busy_timeout_ms=_env_int("STORE_SQLITE_BUSY_TIMEOUT_MS", 10_000, low=0),
            pool_timeout_s=_env_int("STORE_POOL_TIMEOUT_S", 10, low=1),
            echo_sql=os.environ.get("STORE_ECHO_SQL", "").lower() in {"1", "true", "yes"},
        )
