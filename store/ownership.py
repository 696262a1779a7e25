"""Second ways to prove an order is yours, for channels without the order's e-mail.

    order_phone_matches(engine, "A10001", "+46701112233") -> bool
        the channel-proven number (E.164: the phone channel's caller ID, a messaging app's
        sender) is the phone of the order's customer (nordvik.phones, the customer's country
        as the region of a number stored without "+")
    order_postcode_matches(engine, "A10001", "111 22") -> bool
        the postcode of the order's delivery address, digits only

Both answer False for an unknown order, junk input, a withheld number or a customer without a
phone, and do the same work as for a match; comparisons are in constant time. Guessing limits
are the callers' (store.verification_limits, as for the e-mail check).

The postcode is read from the delivery address as the seed and the shop write it: after the
last comma ("Storgatan 1, 111 22 Stockholm" -> "11122", "Karl Johans gate 5, 0150 Oslo" ->
"0150"), or at the start when there is no comma ("100 台北市..." -> "100").
"""

from __future__ import annotations

import hmac
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.engine import Engine

from nordvik.orders import canonical_order_number
from nordvik.phones import normalize_phone
from store.db import session_scope
from store.models import Customer, Order

_POSTCODE = re.compile(r"[0-9](?:[0-9]| (?=[0-9]))+[0-9]", re.ASCII)
_DUMMY = "+00000000000"
MAX_POSTCODE_CHARS = 40


def postcode_of(address: str | None) -> str | None:
    """The postcode of a delivery address, digits only; None when none can be found."""
    if not address:
        return None
    text = unicodedata.normalize("NFKC", address)
    part = text.rsplit(",", 1)[1] if "," in text else text
    found = _POSTCODE.search(part)
    return None if found is None else found.group(0).replace(" ", "")


def spoken_postcode(value: object) -> str | None:
    """The digits of a postcode as said or keyed ("111 22", "1 1 1 2 2", "１１１２２")."""
    if not isinstance(value, str) or len(value) > MAX_POSTCODE_CHARS:
        return None
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value) if ch.isdigit())
    return digits if digits.isascii() and 3 <= len(digits) <= 10 else None


def order_phone_matches(engine: Engine, order_number: str | None, phone: str | None) -> bool:
    number = canonical_order_number(order_number)
    given = normalize_phone(phone, region=None)
    if number is None:
        return False
    with session_scope(engine) as session:
        row = session.execute(
            select(Customer.phone, Customer.country)
            .join(Order, Order.customer_id == Customer.id).where(Order.number == number)
        ).first()
    stored = normalize_phone(row[0], row[1]) if row is not None else None
    matched = hmac.compare_digest((stored or _DUMMY).encode(), (given or _DUMMY).encode())
    return matched and stored is not None and given is not None


def order_postcode_matches(engine: Engine, order_number: str | None, postcode: object) -> bool:
    number = canonical_order_number(order_number)
    given = spoken_postcode(postcode)
    if number is None:
        return False
    with session_scope(engine) as session:
        address = session.execute(
            select(Order.shipping_address).where(Order.number == number)).scalar_one_or_none()
    stored = postcode_of(address)
    matched = hmac.compare_digest((stored or "-").encode(), (given or "+").encode())
    return matched and stored is not None
