"""A real SQLite order/CRM store with one customer and one delivered order, for handoff tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import store
from store.migrate import upgrade
from store.models import CsatFeedback, Customer, Interaction, Order, OrderLine
from store.repository import OrderStore

ORDER_NUMBER = "A54321"
EMAIL = "astrid.berg@example.com"


@dataclass(frozen=True)
class CsatRow:
    conversation_id: str
    rating: int
    comment: str | None
    customer_id: int | None
    case_id: int | None


def make_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderStore:
    """Create, migrate and fill a store; DATABASE_URL points the code under test at it."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    store.get_store.cache_clear()
    crm = store.get_store()
    now = datetime.now(timezone.utc)
    with Session(crm.engine, future=True) as session, session.begin():
        customer = Customer(name="Astrid Berg", email=EMAIL, country="SE", language="sv")
        session.add(customer)
        session.flush()
        order = Order(number=ORDER_NUMBER, customer_id=customer.id, status="delivered",
                      placed_at=now - timedelta(days=6), updated_at=now - timedelta(days=2),
                      delivered_at=now - timedelta(days=2), total=Decimal("599.00"),
                      currency="SEK", shipping_address="Storgatan 1, Stockholm",
                      shipping_country="SE")
        session.add(order)
        session.flush()
        session.add(OrderLine(order_id=order.id, sku="LIN-THROW-SAGE", name="Linen throw, sage",
                              qty=1, unit_price=Decimal("599.00")))
    return crm


def csat_rows(crm: OrderStore) -> list[CsatRow]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(CsatFeedback)).scalars().all()
        return [CsatRow(r.conversation_id, r.rating, r.comment, r.customer_id, r.case_id)
                for r in rows]


def interactions(crm: OrderStore, conversation_id: str) -> list[tuple[str, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(
            select(Interaction).where(Interaction.conversation_id == conversation_id)
            .order_by(Interaction.id)
        ).scalars().all()
        return [(r.direction, r.text) for r in rows]


def customer_id(crm: OrderStore) -> int:
    found = crm.customer_id_for_order(ORDER_NUMBER)
    assert found is not None
    return found
