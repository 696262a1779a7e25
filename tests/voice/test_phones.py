"""The shared phone-number rule (nordvik.phones) and the store's other ownership proofs."""

from __future__ import annotations

from pathlib import Path

import pytest

from nordvik.phones import country_code, is_withheld, masked_phone, normalize_phone, same_phone
from store.ownership import postcode_of, spoken_postcode
from tests.support.store import ORDERS, make_test_store, sqlite_url


@pytest.mark.parametrize(("raw", "region", "expected"), [
    ("+46 70 111 22 33", "SE", "+46701112233"),
    ("070-111 22 33", "SE", "+46701112233"),
    ("0046 (0)70 111 22 33", "SE", "+46701112233"),
    ("+46 (0)70 111 22 33", None, "+46701112233"),
    ("46701112233", "SE", "+46701112233"),
    ("412 34 567", "NO", "+4741234567"),
    ("+47 412 34 567", "SE", "+4741234567"),
    ("0912 345 678", "TW", "+886912345678"),
    ("+886 912-345-678", "SE", "+886912345678"),
    ("＋４６７０１１１２２３３", "SE", "+46701112233"),
    ("tel:+46701112233", "SE", "+46701112233"),
    ("whatsapp:+46701112233", None, "+46701112233"),
    ("0701112233", None, None),
    ("0701112233", "XX", None),
    ("anonymous", "SE", None),
    ("+266696687", "SE", None),
    ("Restricted", "SE", None),
    ("", "SE", None),
    ("12", "SE", None),
    ("070 111 22 33; DROP TABLE", "SE", None),
    ("+46 70 ١١١ 22 33", "SE", None),
    ("9" * 100, "SE", None),
])
def test_normalize_phone(raw: str, region: str | None, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_junk_types_are_none() -> None:
    assert normalize_phone(None) is None
    assert normalize_phone(46701112233) is None  # type: ignore[arg-type]
    assert is_withheld(None) and is_withheld("  ") and is_withheld("ANONYMOUS")
    assert not is_withheld("+46701112233")


def test_same_phone() -> None:
    assert same_phone("+46 70 111 22 33", "0701112233")
    assert same_phone("0912 345 678", "+886912345678", region_a="TW")
    assert not same_phone("+46701112233", "+46701112234")
    assert not same_phone("anonymous", "anonymous")
    assert not same_phone(None, None)


def test_country_code_and_mask() -> None:
    assert country_code("+886912345678") == "TW"
    assert country_code("+4741234567") == "NO"
    assert country_code("+81312345678") is None
    assert masked_phone("+46701112233") == "…2233"


@pytest.mark.parametrize(("address", "postcode"), [
    ("Storgatan 1, 111 22 Stockholm", "11122"),
    ("Storgatan 120, 111 22 Stockholm", "11122"),
    ("Karl Johans gate 5, 0150 Oslo", "0150"),
    ("100 台北市中正區重慶南路 5 號", "100"),
    ("", None),
    (None, None),
])
def test_postcode_of(address: str | None, postcode: str | None) -> None:
    assert postcode_of(address) == postcode


def test_spoken_postcode() -> None:
    assert spoken_postcode("1 1 1 2 2") == "11122"
    assert spoken_postcode("my postcode is 111 22") == "11122"
    assert spoken_postcode("hello") is None
    assert spoken_postcode("1" * 50) is None


def test_store_ownership_proofs(tmp_path: Path) -> None:
    crm = make_test_store(sqlite_url(tmp_path / "store.db"))
    anna = ORDERS["in_transit"].number
    erik = ORDERS["erik_in_transit"].number
    assert crm.order_phone_matches(anna, "+46701112233")
    assert crm.order_phone_matches(anna, "+46 70 111 22 33")
    assert not crm.order_phone_matches(anna.lower(), "+46701112233")  # canonical numbers only
    assert not crm.order_phone_matches(anna, "+46701112234")
    assert not crm.order_phone_matches(anna, None)
    assert not crm.order_phone_matches(anna, "anonymous")
    assert not crm.order_phone_matches(erik, "+4741234567")  # Erik has no phone
    assert not crm.order_phone_matches("A99999", "+46701112233")
    assert not crm.order_phone_matches("junk'; --", "+46701112233")
    assert crm.order_postcode_matches(anna, "111 22")
    assert crm.order_postcode_matches(anna, "11122")
    assert not crm.order_postcode_matches(anna, "11123")
    assert not crm.order_postcode_matches("A99999", "11122")
    assert not crm.order_postcode_matches(anna, None)


def test_international_caller_matches_a_national_number_in_the_customers_country(
        tmp_path: Path) -> None:
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from store.models import Customer
    from tests.support.store import add_order

    crm = make_test_store(sqlite_url(tmp_path / "store.db"))
    add_order(crm, number="A60001", email="tw@example.com", status="paid", language="zh")
    with Session(crm.engine, future=True) as session, session.begin():
        session.execute(update(Customer).where(Customer.email == "tw@example.com")
                        .values(phone="0912 345 678", country="TW"))
    assert crm.order_phone_matches("A60001", "+886912345678")
    assert not crm.order_phone_matches("A60001", "+46912345678")
