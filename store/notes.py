"""Facts behind an order's status, as codes: why a parcel is delayed, why an order was cancelled.

The store returns facts, never sentences: what a customer reads is worded in the message
catalogue, in their language (message_catalogue/, domain responses). The carrier's and the back
office's free-text descriptions are mapped to a small set of codes here.

    delay_reason(shipment)           -> "weather" | "volume" | "connection" | "customs" |
                                        "address" | "other" | None (not delayed)
    cancel_reason_code("the payment was not completed") -> "payment"
"""

from __future__ import annotations

from store.views import ShipmentView

DELAY_REASONS = ("weather", "volume", "connection", "customs", "address", "other")
CANCEL_REASONS = ("customer", "payment", "stock", "other")

_DELAY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customs", ("customs", "tull")),
    ("weather", ("weather", "storm", "snow")),
    ("volume", ("volume", "capacity")),
    ("connection", ("connecting", "connection", "missed")),
    ("address", ("address", "label")),
)
_CANCEL_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("customer", ("customer",)),
    ("payment", ("payment",)),
    ("stock", ("stock",)),
)


def _code(text: str, table: tuple[tuple[str, tuple[str, ...]], ...]) -> str:
    lowered = text.lower()
    for code, words in table:
        if any(word in lowered for word in words):
            return code
    return "other"


def delay_reason(shipment: ShipmentView | None) -> str | None:
    """The code of the latest delay event's reason, or None when the shipment was never delayed."""
    if shipment is None:
        return None
    for event in reversed(shipment.events):
        if event.status == "delayed":
            return _code(event.description, _DELAY_KEYWORDS)
    return None


def cancel_reason_code(reason: str | None) -> str | None:
    """The code of a cancellation's recorded reason, or None when there is none."""
    if reason is None or not reason.strip():
        return None
    return _code(reason, _CANCEL_KEYWORDS)
