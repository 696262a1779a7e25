"""Plain-language explanations of an order's status, built from the order's own records."""

from __future__ import annotations

from datetime import date, datetime

from store.views import ReturnView, ShipmentView


def fmt_date(value: date | datetime) -> str:
    """12 November 2026 (unambiguous in every market)."""
    d = value.date() if isinstance(value, datetime) else value
    return f"{d.day} {d:%B %Y}"


def fmt_money(amount: object, currency: str) -> str:
    return f"{amount} {currency}"


def _delay_reason(shipment: ShipmentView | None) -> str | None:
    if shipment is None:
        return None
    for event in reversed(shipment.events):
        if event.status == "delayed":
            text = event.description.strip()
            if text.lower().startswith("delayed:"):
                text = text[len("delayed:") :].strip()
            return text.rstrip(".") or None
    return None


def _latest(returns: tuple[ReturnView, ...]) -> ReturnView | None:
    return returns[-1] if returns else None


def status_note(
    *,
    status: str,
    currency: str,
    shipment: ShipmentView | None,
    returns: tuple[ReturnView, ...],
    delivered_at: datetime | None,
    cancelled_at: datetime | None,
    cancel_reason: str | None,
    return_deadline: date | None,
    today: date,
) -> str:
    """One or two sentences a customer understands; no internal codes."""
    carrier = shipment.carrier if shipment else "the carrier"
    eta = shipment.eta if shipment else None
    eta_text = f" It should arrive by {fmt_date(eta)}." if eta else ""
    if status == "pending":
        return "We have received your order and are waiting for the payment to be confirmed."
    if status == "paid":
        return "Your payment is confirmed and we are getting your order ready for packing."
    if status == "packed":
        return "Your order is packed and waiting to be collected by the carrier."
    if status == "shipped":
        return f"Your order has left our warehouse with {carrier}.{eta_text}"
    if status == "in_transit":
        return f"Your parcel is on its way with {carrier}.{eta_text}"
    if status == "delayed":
        reason = _delay_reason(shipment)
        why = f" ({reason[0].lower()}{reason[1:]})" if reason else ""
        new_eta = f" The new expected delivery date is {fmt_date(eta)}." if eta else ""
        return f"Your parcel with {carrier} is delayed{why}.{new_eta} Sorry for the wait."
    if status == "delivered":
        when = f" on {fmt_date(delivered_at)}" if delivered_at else ""
        if return_deadline is None:
            return f"Your order was delivered{when}."
        if today <= return_deadline:
            return (
                f"Your order was delivered{when}. You can start a return until "
                f"{fmt_date(return_deadline)}."
            )
        return (
            f"Your order was delivered{when}. The 30-day return window closed on "
            f"{fmt_date(return_deadline)}."
        )
    if status == "cancelled":
        when = f" on {fmt_date(cancelled_at)}" if cancelled_at else ""
        reason = f" ({cancel_reason.strip().rstrip('.')})" if cancel_reason else ""
        return (
            f"This order was cancelled{when}{reason}. Anything you paid is refunded to the "
            "original payment method within 5 business days."
        )
    if status == "returned":
        ret = _latest(returns)
        when = f" on {fmt_date(ret.received_at)}" if ret and ret.received_at else ""
        amount = (
            f" of {fmt_money(ret.refund_amount, currency)}" if ret and ret.refund_amount else ""
        )
        return (
            f"We received your return{when}. Your refund{amount} is paid to the original "
            "payment method within 5 business days."
        )
    if status == "refunded":
        ret = _latest(returns)
        amount = (
            f" of {fmt_money(ret.refund_amount, currency)}" if ret and ret.refund_amount else ""
        )
        when = f" on {fmt_date(ret.refunded_at)}" if ret and ret.refunded_at else ""
        return (
            f"Your refund{amount} was paid{when} to the original payment method. "
            "Banks can take 3-5 more business days to show it."
        )
    return f"The order's status is {status}."
