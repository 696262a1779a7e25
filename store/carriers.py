"""Carriers the store ships with and their (fake, example-domain) tracking pages."""

from __future__ import annotations

from urllib.parse import quote

TRACKING_URLS = {
    "PostNord": "https://tracking.postnord.example/?id={id}",
    "Budbee": "https://track.budbee.example/{id}",
    "Bring": "https://tracking.bring.example/tracking/{id}",
    "DHL": "https://www.dhl.example/track?tracking-id={id}",
    "UPS": "https://www.ups.example/track?tracknum={id}",
}
FALLBACK_URL = "https://nordvik.example/track?carrier={carrier}&id={id}"


def tracking_url(carrier: str, tracking_number: str) -> str:
    """The customer-facing tracking link for a parcel."""
    template = TRACKING_URLS.get(carrier)
    tid = quote(tracking_number, safe="")
    if template is None:
        return FALLBACK_URL.format(carrier=quote(carrier, safe=""), id=tid)
    return template.format(id=tid)
