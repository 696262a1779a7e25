"""Alembic environment of the order store; run through ``store.migrate``, not the alembic CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from store.db import make_engine
from store.migrate import CHAIN
from store.models import Base
from store.settings import StoreSettings


def _engine() -> Engine:
    return make_engine(StoreSettings.from_env().database_url)


CHAIN.run_env(context, Base.metadata, default_engine=_engine)
