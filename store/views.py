"""Read-only records the store hands out; callers never see ORM objects or sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class OrderLineView:
    sku: str
    name: str
    qty: int
    unit_price: Decimal

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.qty


@dataclass(frozen=True)
class ShipmentEventView:
    occurred_at: datetime
    status: str
    location: str | None
    description: str


@dataclass(frozen=True)
class ShipmentView:
    carrier: str
    tracking_number: str
    tracking_url: str
    status: str
    eta: date | None
    events: tuple[ShipmentEventView, ...]
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class ReturnView:
    id: int
    status: str
    reason: str
    created_at: datetime
    received_at: datetime | None
    refunded_at: datetime | None
    refund_amount: Decimal | None
    case_id: int | None


@dataclass(frozen=True)
class OrderDetails:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    lines: tuple[OrderLineView, ...]
    shipment: ShipmentView | None
    returns: tuple[ReturnView, ...]
    customer_id: int
    customer_name: str
    eta: date | None
    delay_reason: str | None = None  # store.notes.DELAY_REASONS code when the parcel was delayed
    cancel_reason: str | None = None  # store.notes.CANCEL_REASONS code for a cancelled order
    updated_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    shipping_country: str = ""
    customer_language: str = "en"
    return_deadline: date | None = None  # delivered orders: last day a return can be started
    return_days_left: int | None = None  # delivered orders: 0 once the window has closed


@dataclass(frozen=True)
class OrderSummary:
    number: str
    status: str
    placed_at: datetime
    total: Decimal
    currency: str


@dataclass(frozen=True)
class CancelResult:
    outcome: str  # cancelled | already_cancelled | not_cancellable | not_verified
    order_status: str | None  # None when not_verified: nothing is revealed


@dataclass(frozen=True)
class ReturnResult:
    outcome: str  # created | already_open | not_delivered | window_closed | not_verified
    return_id: int | None = None
    case_id: int | None = None
    days_left: int | None = None


@dataclass(frozen=True)
class CaseView:
    id: int
    subject: str
    channel: str
    status: str
    customer_id: int | None
    order_number: str | None
    conversation_id: str | None
    slack_channel: str | None
    slack_thread_ts: str | None
    resolution: str | None
    created_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class InteractionView:
    conversation_id: str
    channel: str
    direction: str
    text: str
    order_number: str | None
    created_at: datetime


@dataclass(frozen=True)
class CustomerCard:
    """What an agent sees for an order (Slack /order): the customer, this order, the history."""

    customer_id: int
    name: str
    email: str
    phone: str | None
    country: str
    language: str
    customer_since: datetime
    order: OrderDetails
    order_count: int
    lifetime_value: Decimal
    recent_orders: tuple[OrderSummary, ...]
    open_cases: tuple[CaseView, ...]
    recent_interactions: tuple[InteractionView, ...]
    csat_average: float | None
