"""Schema migrations of the analytics tables (Alembic, own chain, version table
`analytics_schema_version`), apart from the store's chain in the same database.

    python -m analytics.migrate            # upgrade the analytics database to the newest revision
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from analytics.db import AnalyticsUnavailable, describe, make_engine
from analytics.settings import AnalyticsError, AnalyticsSettings
from nordvik.schema import RevisionChain

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "analytics_schema_version"


CHAIN = RevisionChain(MIGRATIONS_DIR, version_table=VERSION_TABLE)


def head_revision() -> str:
    head = CHAIN.head()
    if head is None:  # pragma: no cover - the package ships its revisions
        raise AnalyticsError(f"no migrations found in {MIGRATIONS_DIR}")
    return str(head)


def _engine(target: Engine | str | None) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    settings = AnalyticsSettings.from_env()
    return make_engine(target or settings.database_url,
                       busy_timeout_ms=settings.sqlite_busy_timeout_ms), True


def current_revision(target: Engine | str | None = None) -> str | None:
    """The analytics revision of the database (None: never migrated)."""
    engine, owned = _engine(target)
    try:
        with engine.connect() as conn:
            return CHAIN.current(conn)
    except DBAPIError as exc:
        raise AnalyticsUnavailable(f"cannot read {describe(engine)}: {type(exc).__name__}") from exc
    finally:
        if owned:
            engine.dispose()


def upgrade(target: Engine | str | None = None, revision: str = "head",
            attempts: int = 3) -> str | None:
    """Upgrade the analytics tables in place (rows kept); returns the revision reached.

    The consumer and the dashboard start together and both upgrade: when the other one is
    creating the tables at that moment, this waits a second and looks again."""
    for attempt in range(1, attempts + 1):
        try:
            return _upgrade(target, revision)
        except AnalyticsUnavailable:
            if attempt == attempts:
                raise
            logger.info("analytics tables busy (another process migrating?); trying again")
            time.sleep(1.0)
    return None  # pragma: no cover - the loop returns or raises


def _upgrade(target: Engine | str | None, revision: str) -> str | None:
    engine, owned = _engine(target)
    try:
        with engine.connect() as conn:
            try:
                now = CHAIN.upgrade(conn, revision)
            except CommandError as exc:
                raise AnalyticsError(
                    f"cannot migrate the analytics tables of {describe(engine)} to {revision!r}: "
                    f"{exc} (is the database from a newer version of this code?)"
                ) from exc
        logger.info("analytics tables of %s are at revision %s", describe(engine), now)
        return now
    except DBAPIError as exc:
        raise AnalyticsUnavailable(
            f"cannot migrate {describe(engine)}: {str(getattr(exc, 'orig', exc)).splitlines()[0]}"
        ) from exc
    finally:
        if owned:
            engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Upgrade the analytics tables in place.")
    parser.add_argument("--database-url", help="default: ANALYTICS_DATABASE_URL / settings")
    args = parser.parse_args(argv)
    try:
        revision = upgrade(args.database_url)
    except AnalyticsError as exc:
        print(f"analytics migrate: {exc}")
        return 1
    print(f"analytics tables at revision {revision}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
