"""Alembic environment of the analytics tables; run through ``analytics.migrate``."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Engine

from analytics.db import make_engine, metadata
from analytics.migrate import CHAIN
from analytics.settings import AnalyticsSettings


def _only_analytics(obj: Any, name: str | None, type_: str, reflected: bool,
                    compare_to: Any) -> bool:
    """The store's tables share the database; this chain looks at its own tables only."""
    if type_ == "table":
        return bool(name and name.startswith("analytics_"))
    return True


def _engine() -> Engine:
    return make_engine(AnalyticsSettings.from_env().database_url)


CHAIN.run_env(context, metadata, default_engine=_engine, include_object=_only_analytics)
