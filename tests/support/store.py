"""A real, migrated order/CRM store with a handful of known orders, for bot and action tests.

Dates are relative to today (the actions use the store's real clock). Each order sits in one
situation the bot must handle; ORDERS maps the situation to its number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.carriers import tracking_url
from store.migrate import upgrade
from store.models import (
    Customer,
    Interaction,
    Order,
    OrderLine,
    Return,
    Shipment,
    ShipmentEvent,
    SupportCase,
)
from store.repository import OrderStore

ANNA = "anna.berg@example.com"
ERIK = "erik.lund@example.se"


@dataclass(frozen=True)
class KnownOrder:
    number: str
    email: str
    status: str
    carrier: str | None = None
    tracking_number: str | None = None


ORDERS: dict[str, KnownOrder] = {
    "in_transit": KnownOrder("A10001", ANNA, "in_transit", "PostNord", "PN100000001SE"),
    "paid": KnownOrder("A10002", ANNA, "paid"),
    "delivered": KnownOrder("A10003", ANNA, "delivered", "Budbee", "BUD1000000003"),
    "delivered_long_ago": KnownOrder("A10004", ANNA, "delivered", "PostNord", "PN100000004SE"),
    "delayed": KnownOrder("A10005", ANNA, "delayed", "DHL", "DHL1000000005"),
    "cancelled": KnownOrder("A10006", ANNA, "cancelled"),
    "shipped": KnownOrder("A10007", ANNA, "shipped", "Budbee", "BUD1000000007"),
    "refunded": KnownOrder("A10008", ANNA, "refunded", "PostNord", "PN100000008SE"),
    "erik_in_transit": KnownOrder("A20001", ERIK, "in_transit", "Bring", "BRG2000000001"),
}


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _lines(order_id: int) -> list[OrderLine]:
    """Every test order holds the same two lines (748.00 SEK)."""
    return [
        OrderLine(order_id=order_id, sku="NV-LAMP-01", name="Birch table lamp", qty=1,
                  unit_price=Decimal("499.00")),
        OrderLine(order_id=order_id, sku="NV-MUG-02", name="Stoneware mug", qty=2,
                  unit_price=Decimal("124.50")),
    ]


def _add_orders(crm: OrderStore) -> None:
    now = _now()
    today = now.date()

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    with Session(crm.engine, future=True) as session, session.begin():
        customers = {
            ANNA: Customer(name="Anna Berg", email=ANNA, phone="+46 70 111 22 33", country="SE",
                           language="sv", created_at=ago(300)),
            ERIK: Customer(name="Erik Lund", email=ERIK, phone=None, country="NO", language="nb",
                           created_at=ago(100)),
        }
        session.add_all(customers.values())
        session.flush()
        placed = {"in_transit": 4, "paid": 1, "delivered": 8, "delivered_long_ago": 70,
                  "delayed": 9, "cancelled": 5, "shipped": 2, "refunded": 60,
                  "erik_in_transit": 3}
        for situation, known in ORDERS.items():
            delivered_at = {"delivered": ago(5), "delivered_long_ago": ago(65),
                            "refunded": ago(55)}.get(situation)
            order = Order(
                number=known.number, customer_id=customers[known.email].id, status=known.status,
                placed_at=ago(placed[situation]), updated_at=ago(1),
                total=Decimal("748.00"), currency="SEK",
                shipping_address="Storgatan 1, 111 22 Stockholm",
                shipping_country=customers[known.email].country,
                delivered_at=delivered_at,
                cancelled_at=ago(4) if known.status == "cancelled" else None,
            )
            session.add(order)
            session.flush()
            session.add_all(_lines(order.id))
            if known.carrier and known.tracking_number:
                eta: date | None = None
                if known.status in ("in_transit", "shipped"):
                    eta = today + timedelta(days=2)
                elif known.status == "delayed":
                    eta = today + timedelta(days=4)
                shipment = Shipment(
                    order_id=order.id, carrier=known.carrier,
                    tracking_number=known.tracking_number,
                    tracking_url=tracking_url(known.carrier, known.tracking_number),
                    status=known.status if known.status != "refunded" else "delivered",
                    eta=eta, shipped_at=ago(placed[situation] - 1),
                )
                session.add(shipment)
                session.flush()
                session.add(ShipmentEvent(shipment_id=shipment.id, occurred_at=shipment.shipped_at,
                                          status="shipped", location="Borås",
                                          description="Picked up"))
                if known.status == "delayed":
                    session.add(ShipmentEvent(
                        shipment_id=shipment.id, occurred_at=ago(3), status="delayed",
                        location="Hamburg", description="Delayed: customs inspection in Hamburg"))
            if known.status == "refunded":
                session.add(Return(order_id=order.id, status="refunded", reason="too small",
                                   created_at=ago(50), received_at=ago(45), refunded_at=ago(43),
                                   refund_amount=Decimal("748.00")))


def make_test_store(database_url: str) -> OrderStore:
    """Migrate the database at `database_url`, add the known orders, and return its store."""
    upgrade(database_url)
    crm = OrderStore.from_url(database_url)
    _add_orders(crm)
    return crm


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def interactions(crm: OrderStore, conversation_id: str) -> list[tuple[str, str, str | None]]:
    """(direction, text, order_number) of a conversation's recorded turns, oldest first."""
    with Session(crm.engine, future=True) as session:
        rows = session.execute(
            select(Interaction).where(Interaction.conversation_id == conversation_id)
            .order_by(Interaction.id)
        ).scalars().all()
        return [(r.direction, r.text, r.order_number) for r in rows]


def count_cases(crm: OrderStore) -> int:
    with Session(crm.engine, future=True) as session:
        return int(session.execute(select(func.count(SupportCase.id))).scalar_one())


def count_returns(crm: OrderStore) -> int:
    with Session(crm.engine, future=True) as session:
        return int(session.execute(select(func.count(Return.id))).scalar_one())


def add_order(crm: OrderStore, *, number: str, email: str, status: str, name: str = "Test Kund",
              language: str = "en", delivered_days_ago: int | None = None) -> None:
    """One more order (and its customer, created on first use), for tests that need their own:
    two lines, a shipment when it has shipped, delivered `delivered_days_ago` days ago."""
    now = _now()
    with Session(crm.engine, future=True) as session, session.begin():
        customer = session.execute(
            select(Customer).where(Customer.email == email)).scalar_one_or_none()
        if customer is None:
            customer = Customer(name=name, email=email, phone=None, country="SE",
                                language=language, created_at=now - timedelta(days=200))
            session.add(customer)
            session.flush()
        delivered = (now - timedelta(days=delivered_days_ago)
                     if delivered_days_ago is not None else None)
        order = Order(number=number, customer_id=customer.id, status=status,
                      placed_at=now - timedelta(days=(delivered_days_ago or 0) + 3),
                      updated_at=now, total=Decimal("748.00"), currency="SEK",
                      shipping_address="Storgatan 1, 111 22 Stockholm", shipping_country="SE",
                      delivered_at=delivered)
        session.add(order)
        session.flush()
        session.add_all(_lines(order.id))
        if status in ("shipped", "in_transit", "delivered"):
            tracking = f"PN{number[1:]}0000SE"
            session.add(Shipment(
                order_id=order.id, carrier="PostNord", tracking_number=tracking,
                tracking_url=tracking_url("PostNord", tracking),
                status=status, eta=(now + timedelta(days=2)).date()
                if status != "delivered" else None,
                shipped_at=now - timedelta(days=(delivered_days_ago or 0) + 2)))


def count_cases_of(crm: OrderStore, conversation_id: str) -> int:
    """Support cases opened for one conversation (whatever their status)."""
    with Session(crm.engine, future=True) as session:
        return int(session.execute(
            select(func.count(SupportCase.id)).where(SupportCase.conversation_id == conversation_id)
        ).scalar_one())
