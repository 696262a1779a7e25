"""The shared test store (tests/support/store.py) for the handoff tests, plus CSAT read-back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import store
from store.models import CsatFeedback
from store.repository import OrderStore
from tests.support.store import ORDERS, make_test_store, sqlite_url
from tests.support.store import interactions as recorded_interactions

ORDER_NUMBER = ORDERS["in_transit"].number
EMAIL = ORDERS["in_transit"].email
CUSTOMER_NAME = "Anna Berg"


@dataclass(frozen=True)
class CsatRow:
    conversation_id: str
    rating: int
    comment: str | None
    customer_id: int | None
    case_id: int | None


def make_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    """A migrated store with the known orders; DATABASE_URL points the code under test at it."""
    url = sqlite_url(tmp_path / "store.db")
    crm = make_test_store(url)
    monkeypatch.setenv("DATABASE_URL", url)
    store.get_store.cache_clear()
    return crm


def csat_rows(crm: OrderStore) -> list[CsatRow]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(CsatFeedback).order_by(CsatFeedback.id)).scalars().all()
        return [CsatRow(r.conversation_id, r.rating, r.comment, r.customer_id, r.case_id)
                for r in rows]


def interactions(crm: OrderStore, conversation_id: str) -> list[tuple[str, str]]:
    return [(direction, text) for direction, text, _ in
            recorded_interactions(crm, conversation_id)]


def customer_id(crm: OrderStore) -> int:
    found = crm.customer_id_for_order(ORDER_NUMBER)
    assert found is not None
    return found
