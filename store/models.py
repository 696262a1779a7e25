"""Tables of the order/CRM store (SQLAlchemy 1.4 declarative, used with the 2.0-style API) and
their column types. The migrations in ``store/migrations/versions`` build exactly this schema; a
test compares them.

Also the plain values the store takes in: free text cleaned and capped, money as a Decimal.

    clean_text("On its way\\x00!")         -> "On its way!"   (PostgreSQL rejects NUL)
    optional_text("  ", 30)                -> None

Order numbers are normalised once, where they enter (``nordvik.orders``), and reach the store in
canonical form. The store only checks that form (``nordvik.orders.canonical_order_number``);
anything else, junk included, takes the not-found path without a query.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

CENT = Decimal("0.01")
ORDER_STATUSES = (
    "pending",
    "paid",
    "packed",
    "shipped",
    "in_transit",
    "delivered",
    "delayed",
    "cancelled",
    "returned",
    "refunded",
)
CASE_STATUSES = ("open", "handoff", "closed")
RETURN_STATUSES = ("requested", "received", "refunded", "rejected")
OPEN_RETURN_STATUSES = ("requested", "received")
DIRECTIONS = ("in", "out")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UtcDateTime(TypeDecorator):
    """Timestamps are stored in UTC and always come back timezone-aware (SQLite drops tz)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        value = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Money(TypeDecorator):
    """An amount with 2 decimals, always a Decimal in Python.

    SQLite has no decimal type: amounts go in as floats (12 digits round-trip exactly) and are
    quantised back to 2 decimals, instead of letting SQLAlchemy warn on every read.
    """

    impl = Numeric(12, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Numeric(12, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(12, 2))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        amount = Decimal(str(value)).quantize(CENT)
        return float(amount) if dialect.name == "sqlite" else amount

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return Decimal(str(value)).quantize(CENT)


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


Base: Any = declarative_base(metadata=MetaData(naming_convention=NAMING))


class Customer(Base):
    __tablename__ = "customers"

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    email = Column(String(254), nullable=False, unique=True)  # stored lower-case
    phone = Column(String(40))
    country = Column(String(2), nullable=False)  # ISO 3166-1 alpha-2
    language = Column(String(10), nullable=False)  # BCP 47: sv, nb, zh-TW, de, en, ...
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)

    orders = relationship("Order", back_populates="customer")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ORDER_STATUSES)})", name="status"),
        Index("ix_orders_status", "status"),
    )

    id = Column(Integer, primary_key=True)
    number = Column(String(6), nullable=False, unique=True)  # A10234
    customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False, index=True)
    status = Column(String(20), nullable=False)
    placed_at = Column(UtcDateTime, nullable=False)
    updated_at = Column(UtcDateTime, nullable=False)
    total = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False, default="SEK")
    shipping_address = Column(Text, nullable=False)
    shipping_country = Column(String(2), nullable=False)
    delivered_at = Column(UtcDateTime)
    cancelled_at = Column(UtcDateTime)
    cancel_reason = Column(Text)  # added in revision 0002

    customer = relationship("Customer", back_populates="orders")
    lines = relationship("OrderLine", order_by="OrderLine.id")
    shipments = relationship("Shipment", order_by="Shipment.id")
    returns = relationship("Return", order_by="Return.id")


class OrderLine(Base):
    __tablename__ = "order_lines"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    sku = Column(String(40), nullable=False)
    name = Column(String(200), nullable=False)
    qty = Column(Integer, nullable=False)
    unit_price = Column(Money, nullable=False)


class Shipment(Base):
    __tablename__ = "shipments"

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    carrier = Column(String(40), nullable=False)
    tracking_number = Column(String(60), nullable=False, unique=True)
    tracking_url = Column(String(300))
    status = Column(String(20), nullable=False)
    eta = Column(Date)
    shipped_at = Column(UtcDateTime)

    events = relationship("ShipmentEvent", order_by="ShipmentEvent.occurred_at")


class ShipmentEvent(Base):
    __tablename__ = "shipment_events"

    id = Column(Integer, primary_key=True)
    shipment_id = Column(Integer, ForeignKey("shipments.id"), nullable=False, index=True)
    occurred_at = Column(UtcDateTime, nullable=False)
    status = Column(String(20), nullable=False)
    location = Column(String(120))
    description = Column(Text, nullable=False)


class SupportCase(Base):
    __tablename__ = "support_cases"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(CASE_STATUSES)})", name="status"),  # revision 0002
        Index("ix_support_cases_slack_thread", "slack_channel", "slack_thread_ts"),  # 0002
        Index("ix_support_cases_conversation_id", "conversation_id"),  # 0002
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"), index=True)
    order_id = Column(Integer, ForeignKey("orders.id"), index=True)
    subject = Column(String(300), nullable=False)
    channel = Column(String(30), nullable=False)
    status = Column(String(20), nullable=False, default="open")
    conversation_id = Column(String(200))  # revision 0002
    slack_channel = Column(String(40))  # revision 0002
    slack_thread_ts = Column(String(40))  # revision 0002
    resolution = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)
    closed_at = Column(UtcDateTime)


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (CheckConstraint(f"status IN ({_in(RETURN_STATUSES)})", name="status"),)

    id = Column(Integer, primary_key=True)
    order_id = Column(Integer, ForeignKey("orders.id"), nullable=False, index=True)
    case_id = Column(Integer, ForeignKey("support_cases.id"))
    status = Column(String(20), nullable=False, default="requested")
    reason = Column(Text, nullable=False)
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)
    received_at = Column(UtcDateTime)
    refunded_at = Column(UtcDateTime)
    refund_amount = Column(Money)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        CheckConstraint(f"direction IN ({_in(DIRECTIONS)})", name="direction"),
        Index("ix_interactions_customer_id_created_at", "customer_id", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    conversation_id = Column(String(200), nullable=False, index=True)
    channel = Column(String(30), nullable=False)
    direction = Column(String(3), nullable=False)
    text = Column(Text, nullable=False)
    order_number = Column(String(6))
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)


class CsatFeedback(Base):
    """Added in revision 0002."""

    __tablename__ = "csat_feedback"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    customer_id = Column(Integer, ForeignKey("customers.id"))
    case_id = Column(Integer, ForeignKey("support_cases.id"))
    rating = Column(Integer, nullable=False)
    comment = Column(Text)
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)


class FailedVerification(Base):
    """A failed order-number/e-mail check in chat (revision 0003): counted across conversations,
    servers and restarts, per order number and per client (a keyed hash of the address)."""

    __tablename__ = "failed_verifications"
    __table_args__ = (
        Index("ix_failed_verifications_order_number_created_at", "order_number", "created_at"),
        Index("ix_failed_verifications_client_created_at", "client", "created_at"),
    )

    id = Column(Integer, primary_key=True)
    order_number = Column(String(6))  # normalised; NULL when the customer gave junk
    client = Column(String(64))  # nordvik.secrets.pseudonym(address, purpose="client")
    conversation_id = Column(String(200), nullable=False, index=True)
    created_at = Column(UtcDateTime, nullable=False, default=utcnow)


# ------------------------------------------------------------------ values the store takes in

MAX_TEXT_LENGTH = 5000


def clean_text(value: object, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Free text as stored: a string without NUL characters (PostgreSQL rejects them), capped."""
    text_value = value if isinstance(value, str) else ("" if value is None else str(value))
    return text_value.replace("\x00", "")[:max_length]


def optional_text(value: object, max_length: int) -> str | None:
    """Cleaned, capped and stripped text; None for None or nothing left."""
    if value is None:
        return None
    cleaned = clean_text(value, max_length).strip()
    return cleaned or None


def money(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))
