"""Known rows for the repository tests: one customer per market, one order per situation."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from store.carriers import tracking_url
from store.models import Customer, Order, OrderLine, Return, Shipment, ShipmentEvent

TODAY = date(2026, 11, 20)
ANNA = "anna.svensson@example.com"
LIN = "yichun.lin@example.tw"


def at(days_ago: int, hour: int = 12) -> datetime:
    day = TODAY - timedelta(days=days_ago)
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


def add_demo_rows(engine: Engine) -> None:
    with Session(engine, future=True) as session, session.begin():
        anna = Customer(
            name="Anna Svensson",
            email=ANNA,
            phone="+46 70 123 45 67",
            country="SE",
            language="sv",
            created_at=at(400),
        )
        lin = Customer(
            name="林怡君", email=LIN, phone=None, country="TW", language="zh-TW", created_at=at(200)
        )
        session.add_all([anna, lin])
        session.flush()

        def order(
            number: str,
            status: str,
            placed_days_ago: int,
            customer: Customer = anna,
            **extra: object,
        ) -> Order:
            o = Order(
                number=number,
                customer_id=customer.id,
                status=status,
                placed_at=at(placed_days_ago),
                updated_at=at(max(placed_days_ago - 1, 0)),
                total=Decimal("548.00"),
                currency="SEK",
                shipping_address="Storgatan 1, 111 22 Stockholm",
                shipping_country=customer.country,
                **extra,
            )
            session.add(o)
            session.flush()
            session.add_all(
                [
                    OrderLine(
                        order_id=o.id,
                        sku="NV-LAMP-01",
                        name="Birch table lamp",
                        qty=1,
                        unit_price=Decimal("499.00"),
                    ),
                    OrderLine(
                        order_id=o.id,
                        sku="NV-BULB-02",
                        name="LED bulb E27",
                        qty=1,
                        unit_price=Decimal("49.00"),
                    ),
                ]
            )
            return o

        def ship(
            o: Order,
            carrier: str,
            tracking: str,
            status: str,
            eta_in_days: int | None,
            events: list[tuple[int, str, str, str]],
        ) -> None:
            s = Shipment(
                order_id=o.id,
                carrier=carrier,
                tracking_number=tracking,
                tracking_url=tracking_url(carrier, tracking),
                status=status,
                eta=None if eta_in_days is None else TODAY + timedelta(days=eta_in_days),
                shipped_at=at(events[0][0]) if events else None,
            )
            session.add(s)
            session.flush()
            for days_ago, ev_status, location, description in events:
                session.add(
                    ShipmentEvent(
                        shipment_id=s.id,
                        occurred_at=at(days_ago),
                        status=ev_status,
                        location=location,
                        description=description,
                    )
                )

        order("A10009", "pending", 0)
        order("A10003", "paid", 1)
        order("A10010", "packed", 2)
        shipped = order("A10011", "shipped", 3)
        ship(
            shipped, "Budbee", "BUD0000000011", "shipped", 2, [(1, "shipped", "Borås", "Picked up")]
        )
        moving = order("A10004", "in_transit", 4)
        ship(
            moving,
            "PostNord",
            "PN000000004SE",
            "in_transit",
            1,
            [(3, "shipped", "Borås", "Picked up"), (2, "in_transit", "Jönköping", "At the hub")],
        )
        late = order("A10005", "delayed", 9)
        ship(
            late,
            "PostNord",
            "PN000000005SE",
            "delayed",
            3,
            [
                (8, "shipped", "Borås", "Picked up"),
                (6, "delayed", "Jönköping", "Delayed: severe weather at the Jönköping hub"),
            ],
        )
        recent = order("A10001", "delivered", 14, delivered_at=at(10))
        ship(
            recent,
            "PostNord",
            "PN000000001SE",
            "delivered",
            None,
            [(12, "shipped", "Borås", "Picked up"), (10, "delivered", "Stockholm", "Delivered")],
        )
        order("A10002", "delivered", 50, delivered_at=at(45))
        order("A20001", "delivered", 33, customer=lin, delivered_at=at(29))
        order(
            "A10006",
            "cancelled",
            20,
            cancelled_at=at(19),
            cancel_reason="the payment was not completed",
        )
        returned = order("A10007", "returned", 30, delivered_at=at(25))
        session.add(
            Return(
                order_id=returned.id,
                status="received",
                reason="too small",
                created_at=at(20),
                received_at=at(15),
                refund_amount=Decimal("499.00"),
            )
        )
        refunded = order("A10008", "refunded", 60, delivered_at=at(55))
        session.add(
            Return(
                order_id=refunded.id,
                status="refunded",
                reason="changed my mind",
                created_at=at(50),
                received_at=at(45),
                refunded_at=at(43),
                refund_amount=Decimal("548.00"),
            )
        )
