"""Who is on the other end of a customer channel, without keeping their address.

    client_address(request)          -> "203.0.113.7"
    client_pseudonym("203.0.113.7")  -> a keyed hash (nordvik.secrets.pseudonym, purpose "client")

The address is Sanic's `request.remote_addr` when Sanic is told to trust a proxy in front of it
(SANIC_PROXIES_COUNT, SANIC_REAL_IP_HEADER or SANIC_FORWARDED_SECRET; `make run` sets
SANIC_PROXIES_COUNT=1 behind HAProxy), else the peer of the connection. Without such a setting a
client cannot choose its address by sending `X-Forwarded-For`.
"""

from __future__ import annotations

import functools
from typing import Any

from nordvik.languages import DEFAULT_LANGUAGE, detect_language_or_none, normalize_language
from nordvik.secrets import pseudonym
from nordvik.text import normalize

_LANGUAGE_SAMPLE = 500


def client_address(request: Any) -> str:
    """The client's address as Sanic trusts it: the proxied address, else the peer."""
    if request is None:
        return "unknown"
    forwarded = getattr(request, "remote_addr", "") or ""
    return str(forwarded or getattr(request, "ip", "") or "unknown")


@functools.lru_cache(maxsize=4096)
def client_pseudonym(address: str) -> str:
    """A stable keyed hash of the client address: what the metadata and the limits use."""
    return pseudonym(address, purpose="client")


def message_language(text: str, hinted: object = None) -> str:
    """The customer's language: the widget's page language when it sent one, else detected."""
    return (
        normalize_language(hinted)
        or detect_language_or_none(normalize(text[:_LANGUAGE_SAMPLE]))
        or DEFAULT_LANGUAGE
    )
