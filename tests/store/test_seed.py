"""The demo seed: deterministic, big enough, every status, return windows open and closed."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select

from store.db import make_engine
from store.migrate import upgrade
from store.models import ORDER_STATUSES, Customer, Order
from store.repository import OrderStore
from store.seed import build_dataset, sample_orders, seed

ANCHOR = date(2026, 11, 23)


def _orders(url: str) -> list[tuple[str, str, str]]:
    engine = create_engine(url, future=True)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Order.number, Customer.email, Order.status)
            .join(Customer, Order.customer_id == Customer.id)
            .order_by(Order.number)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_same_seed_and_anchor_give_the_same_data(tmp_path_factory: pytest.TempPathFactory) -> None:
    assert build_dataset(ANCHOR, orders=300, customers=60).tables == (
        build_dataset(ANCHOR, orders=300, customers=60).tables
    )
    assert (
        build_dataset(ANCHOR, seed=1, orders=300).tables["orders"]
        != (build_dataset(ANCHOR, seed=2, orders=300).tables["orders"])
    )
    urls = [f"sqlite:///{tmp_path_factory.mktemp('seed') / 'store.db'}" for _ in range(2)]
    for url in urls:
        upgrade(url)
        engine = make_engine(url)
        report = seed(engine, anchor=ANCHOR, customers=300, orders=1500)
        engine.dispose()
        assert report.seeded
    first, second = (_orders(url) for url in urls)
    assert first == second
    assert len(first) == 1500 and len({number for number, _, _ in first}) == 1500


def test_the_seed_is_big_spread_and_usable(database_url: str) -> None:
    engine = make_engine(database_url)
    report = seed(engine, anchor=ANCHOR)
    assert report.seeded
    assert report.counts["customers"] >= 1000 and report.counts["orders"] >= 5000
    assert set(report.statuses) == set(ORDER_STATUSES)
    assert min(report.statuses.values()) >= 200, report.statuses
    assert report.counts["shipment_events"] > report.counts["shipments"] > 0
    assert report.counts["returns"] > 0 and report.counts["support_cases"] > 0
    assert report.counts["csat_feedback"] > 0 and report.counts["interactions"] > 0
    # A second seed leaves a full store alone.
    again = seed(engine, anchor=ANCHOR)
    assert not again.seeded and again.counts == report.counts

    with engine.connect() as conn:
        countries = set(conn.execute(select(Customer.country, Customer.language)).all())
        delivered = (
            conn.execute(select(Order.delivered_at).where(Order.status == "delivered"))
            .scalars()
            .all()
        )
        shipped_without_shipment = conn.execute(
            select(Order.number).where(
                Order.status.in_(("shipped", "in_transit", "delayed", "delivered")),
                ~Order.shipments.any(),
            )
        ).all()
    assert {("SE", "sv"), ("NO", "nb"), ("TW", "zh-TW"), ("DE", "de"), ("GB", "en")} <= countries
    assert shipped_without_shipment == []
    midnight = datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, tzinfo=timezone.utc)
    inside = [d for d in delivered if midnight - d < timedelta(days=29)]
    outside = [d for d in delivered if midnight - d > timedelta(days=31)]
    assert len(inside) > 300 and len(outside) > 300

    # The printed samples work with the real store: right pair verifies, each status shown.
    store = OrderStore(engine, today=lambda: ANCHOR)
    samples = sample_orders(engine, ANCHOR)
    assert {s.status for s in samples} == set(ORDER_STATUSES)
    for sample in samples:
        order = store.verify_order(sample.number, sample.email)
        assert order is not None and order.status == sample.status, sample
        assert (order.delay_reason is not None) == (order.status == "delayed")
        assert (order.cancel_reason is not None) == (order.status == "cancelled")
    open_window = next(s for s in samples if s.label == "delivered (return window open)")
    result = store.start_return(
        open_window.number, open_window.email, reason="too small", conversation_id="c"
    )
    assert result.outcome == "created"
    closed = next(s for s in samples if s.label == "delivered (return window closed)")
    assert store.start_return(
        closed.number, closed.email, reason="x", conversation_id=None
    ).outcome == ("window_closed")
    delayed = next(s for s in samples if s.status == "delayed")
    delayed_order = store.verify_order(delayed.number, delayed.email)
    assert delayed_order is not None and delayed_order.eta is not None
    assert delayed_order.eta >= ANCHOR
    assert delayed_order.delay_reason in ("weather", "volume", "connection", "customs", "address")
    # Ids continue after the bulk-loaded rows (PostgreSQL sequences were moved on).
    case = store.open_case(subject="after seed", channel="chat")
    assert case.id > report.counts["support_cases"]

    forced = seed(engine, anchor=ANCHOR, force=True, orders=50, customers=20)
    assert forced.seeded and forced.counts["orders"] == 50
    engine.dispose()


def test_too_few_orders_are_refused() -> None:
    with pytest.raises(ValueError):
        build_dataset(ANCHOR, orders=5)
