"""Plain-language wording of an order for the customer (pure functions, no I/O)."""

from __future__ import annotations

from datetime import date, datetime

from store.views import OrderDetails

STATUS_TEXT = {
    "pending": "received and waiting for payment confirmation",
    "paid": "paid and being prepared in our warehouse",
    "packed": "packed and ready to ship",
    "shipped": "shipped",
    "in_transit": "on its way",
    "delivered": "delivered",
    "delayed": "delayed",
    "cancelled": "cancelled",
    "returned": "returned",
    "refunded": "refunded",
}
NOT_SHIPPED = frozenset({"pending", "paid", "packed"})
MAX_LINES_LISTED = 5


def status_text(status: str) -> str:
    return STATUS_TEXT.get(status, status.replace("_", " "))


def fmt_date(value: date | datetime | None, *, missing: str = "not available yet") -> str:
    """12 November 2026, unambiguous in every market."""
    if value is None:
        return missing
    day = value.date() if isinstance(value, datetime) else value
    return f"{day.day} {day:%B %Y}"


def items_text(order: OrderDetails) -> str:
    """'2 × Linen throw, sage and 1 × Desk lamp' (at most five lines, then 'and N more')."""
    parts = [f"{line.qty} × {line.name}" for line in order.lines[:MAX_LINES_LISTED]]
    hidden = len(order.lines) - MAX_LINES_LISTED
    if hidden > 0:
        parts.append(f"{hidden} more item{'s' if hidden > 1 else ''}")
    if not parts:
        return "no items"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def eta_text(order: OrderDetails) -> str:
    if order.status == "delivered":
        return f"delivered on {fmt_date(order.delivered_at, missing='an earlier date')}"
    shipment_eta = order.shipment.eta if order.shipment else None
    return fmt_date(shipment_eta or order.eta)


def status_summary(order: OrderDetails) -> str:
    """One line for the CRM's interaction history (what the customer was told)."""
    text = f"Order {order.number}: {order.status}"
    if order.shipment is not None:
        text += f", {order.shipment.carrier} {order.shipment.tracking_number}"
    if order.status not in ("delivered", "cancelled", "returned", "refunded"):
        text += f", ETA {eta_text(order)}"
    return text
