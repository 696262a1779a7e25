"""Order and CRM store of Nordvik Home: customers, orders, shipments, returns, cases, CSAT.

``get_store()`` is built lazily from ``StoreSettings.from_env()``; importing connects to nothing.
"""

from __future__ import annotations

import functools

from store.repository import OrderStore
from store.settings import StoreSettings

__all__ = ["OrderStore", "StoreSettings", "get_store"]


@functools.lru_cache(maxsize=1)
def get_store() -> OrderStore:
    """The process-wide store (call ``get_store.cache_clear()`` after changing DATABASE_URL)."""
    return OrderStore.from_settings(StoreSettings.from_env())
