"""Schema migrations: an old database upgrades in place and keeps every row (SQLite and PG)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from store.db import make_engine
from store.errors import StoreError
from store.migrate import VERSION_TABLE, current_revision, head_revision, upgrade
from store.models import Base
from store.repository import OrderStore
from tests.store.pg import fresh_pg_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database (no schema at all)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('migrate') / 'old.db'}"
        return
    with fresh_pg_database() as url:
        yield url


# Rows as the first revision's code wrote them (plain SQL of schema 0001).
REVISION_0001_ROWS = [
    "INSERT INTO customers (id, name, email, phone, country, language, created_at) VALUES "
    "(1, 'Karin Nilsson', 'karin.nilsson@example.com', '+46 70 111 22 33', 'SE', 'sv', "
    "'2025-01-02 10:00:00')",
    "INSERT INTO orders (id, number, customer_id, status, placed_at, updated_at, total, currency,"
    " shipping_address, shipping_country, delivered_at, cancelled_at) VALUES "
    "(1, 'A12345', 1, 'paid', '2026-11-01 09:00:00', '2026-11-01 09:05:00', 748.00, 'SEK', "
    "'Storgatan 1, 111 22 Stockholm', 'SE', NULL, NULL)",
    "INSERT INTO order_lines (id, order_id, sku, name, qty, unit_price) VALUES "
    "(1, 1, 'NV-THRW-01', 'Wool throw, grey', 1, 699.00)",
    "INSERT INTO support_cases (id, customer_id, order_id, subject, channel, status, resolution,"
    " created_at, closed_at) VALUES (1, 1, 1, 'Change of address', 'email', 'open', NULL, "
    "'2026-11-01 12:00:00', NULL)",
    "INSERT INTO returns (id, order_id, case_id, status, reason, created_at, received_at, "
    "refunded_at, refund_amount) VALUES (1, 1, 1, 'rejected', 'test', '2026-11-02 08:00:00', "
    "NULL, NULL, NULL)",
    "INSERT INTO interactions (id, customer_id, conversation_id, channel, direction, text, "
    "order_number, created_at) VALUES (1, 1, 'conv-old', 'web', 'in', 'where is A12345?', "
    "'A12345', '2026-11-01 12:00:00')",
]


def test_an_old_database_upgrades_in_place_and_keeps_its_rows(empty_url: str) -> None:
    assert upgrade(empty_url, "0001") == "0001"
    assert current_revision(empty_url) == "0001"
    engine = create_engine(empty_url, future=True)
    with engine.begin() as conn:
        for statement in REVISION_0001_ROWS:
            conn.execute(text(statement))
        if engine.dialect.name == "postgresql":
            for table in ("customers", "orders", "order_lines", "support_cases", "returns"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))
    engine.dispose()

    assert upgrade(empty_url) == head_revision() == "0003"
    assert current_revision(empty_url) == "0003"

    engine = make_engine(empty_url)
    with engine.connect() as conn:
        case = conn.execute(
            text("SELECT id, subject, channel, status, conversation_id FROM support_cases")
        ).all()
        assert [tuple(r) for r in case] == [(1, "Change of address", "email", "open", None)]
        assert conn.execute(text("SELECT case_id FROM returns")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM interactions")).scalar_one() == 1
        assert conn.execute(text("SELECT number FROM orders")).scalar_one() == "A12345"

    store = OrderStore(engine)
    order = store.verify_order("A12345", "Karin.Nilsson@example.com")
    assert order is not None and order.status == "paid" and len(order.lines) == 1
    assert order.total == order.lines[0].unit_price + 49
    # The columns of revision 0002 work on the old rows.
    store.attach_slack_thread(1, "C0AGENTS", "1763900000.000100")
    found = store.find_case_by_thread("C0AGENTS", "1763900000.000100")
    assert found is not None and found.subject == "Change of address"
    assert found.order_number == "A12345"
    store.record_csat(conversation_id="conv-old", rating=5, case_id=1)
    assert store.cancel_order("A12345", "karin.nilsson@example.com").outcome == "cancelled"
    card = store.customer_card("A12345")
    assert card is not None and card.csat_average == 5.0
    assert card.order.cancel_reason == "customer"
    # New rows get fresh ids after the old ones.
    assert store.open_case(subject="new", channel="chat", customer_id=1).id > 1

    # The rebuilt support_cases table kept its foreign keys and gained the CHECK.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO support_cases (subject, channel, status, created_at) "
                "VALUES ('x', 'chat', 'archived', '2026-11-02 08:00:00')"
            )
        )
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO support_cases (customer_id, subject, channel, status, created_at) "
                "VALUES (999, 'x', 'chat', 'open', '2026-11-02 08:00:00')"
            )
        )
    engine.dispose()

    # The table of revision 0003 works on the old database.
    store.record_failed_verification(order_number="A12345", client="c", conversation_id="x")
    assert not store.verification_blocked(order_number="A12345", client="c")

    # Upgrading again is a no-op.
    assert upgrade(empty_url) == "0003"


def test_the_migrated_schema_matches_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    engine = create_engine(empty_url, future=True)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    unexpected = [d for d in diff if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)]
    assert unexpected == []


def test_a_database_from_an_unknown_revision_is_refused_clearly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    upgrade(url)
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match="newer version"):
        upgrade(url)
