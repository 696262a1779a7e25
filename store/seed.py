"""Deterministic demo data: customers in Nordvik Home's markets and their orders in every status.

Everything comes from ``random.Random(seed)`` and fixed lists (no Faker), and every date is
relative to an anchor day (default: today), so the demo always has open return windows and the
same seed and anchor give the same rows. Rows are inserted in bulk (executemany).
"""

from __future__ import annotations

import logging
import random
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Engine

from store.carriers import tracking_url
from store.db import translate_errors
from store.models import (
    CENT,
    ORDER_STATUSES,
    Base,
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    OrderLine,
    Return,
    Shipment,
    ShipmentEvent,
    SupportCase,
)

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20261123
DEFAULT_CUSTOMERS = 1200
DEFAULT_ORDERS = 6000
RETURN_WINDOW_DAYS = 30

# --------------------------------------------------------------------------- fixed lists


@dataclass(frozen=True)
class Market:
    country: str
    language: str
    weight: float
    phone_prefix: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    cities: tuple[tuple[str, str], ...]  # (postcode, city)
    streets: tuple[str, ...]
    carriers: tuple[str, ...]
    transit_days: tuple[int, int]
    family_name_first: bool = False
    romanised: dict[str, str] = field(default_factory=dict)


TW_ROMAN = {
    "陳": "chen", "林": "lin", "黃": "huang", "張": "chang", "李": "lee", "王": "wang",
    "吳": "wu", "劉": "liu", "蔡": "tsai", "楊": "yang", "怡君": "yichun", "志明": "chihming",
    "雅婷": "yating", "家豪": "chiahao", "淑芬": "shufen", "俊傑": "chunchieh", "美玲": "meiling",
    "建宏": "chienhung", "宜蓁": "yichen", "冠宇": "kuanyu",
}  # fmt: skip

MARKETS: tuple[Market, ...] = (
    Market(
        "SE", "sv", 0.38, "+46 70",
        ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Elin", "Oskar", "Sara", "Anders",
         "Emma", "Nils", "Ingrid", "Gustav", "Linnea", "Björn", "Astrid", "Per", "Sofia", "Åsa"),
        ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
         "Persson", "Svensson", "Gustafsson", "Lindqvist", "Bergström", "Åberg", "Sjögren",
         "Öberg", "Lindgren"),
        (("111 22", "Stockholm"), ("411 05", "Göteborg"), ("211 20", "Malmö"),
         ("753 20", "Uppsala"), ("903 26", "Umeå"), ("222 21", "Lund")),
        ("Storgatan", "Drottninggatan", "Kungsgatan", "Vasagatan", "Skolgatan", "Ringvägen"),
        ("PostNord", "Budbee"), (1, 3),
    ),
    Market(
        "NO", "nb", 0.15, "+47 4",
        ("Ola", "Kari", "Ingrid", "Lars", "Sigrid", "Håkon", "Nora", "Magnus", "Ingeborg",
         "Øystein", "Sander", "Tuva"),
        ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg",
         "Haugen", "Dahl", "Bakke", "Sæther"),
        (("0150", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("4006", "Stavanger"),
         ("9008", "Tromsø")),
        ("Storgata", "Kirkegata", "Dronningens gate", "Torggata"),
        ("Bring",), (2, 5),
    ),
    Market(
        "DK", "da", 0.05, "+45 2",
        ("Mette", "Søren", "Freja", "Mads", "Ida", "Rasmus"),
        ("Jensen", "Nielsen", "Hansen", "Sørensen", "Rasmussen", "Christensen"),
        (("1050", "København"), ("8000", "Aarhus"), ("5000", "Odense")),
        ("Østergade", "Vestergade", "Nørregade"),
        ("PostNord",), (2, 5),
    ),
    Market(
        "FI", "fi", 0.04, "+358 40",
        ("Aino", "Eino", "Helmi", "Onni", "Sanna", "Jukka"),
        ("Korhonen", "Virtanen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen"),
        (("00100", "Helsinki"), ("33100", "Tampere"), ("20100", "Turku")),
        ("Mannerheimintie", "Hämeenkatu", "Aurakatu"),
        ("PostNord",), (2, 5),
    ),
    Market(
        "DE", "de", 0.10, "+49 151",
        ("Lukas", "Anna", "Jonas", "Lena", "Felix", "Mia", "Paul", "Hannah", "Jürgen", "Sabine"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
         "Hoffmann", "Schäfer"),
        (("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "München"), ("50667", "Köln")),
        ("Hauptstraße", "Bahnhofstraße", "Gartenstraße", "Schulstraße"),
        ("DHL",), (3, 7),
    ),
    Market(
        "GB", "en", 0.08, "+44 7700",
        ("Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Jack", "Emily"),
        ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Davies", "Evans"),
        (("SW1A 1AA", "London"), ("M1 1AE", "Manchester"), ("LS1 1UR", "Leeds"),
         ("EH1 1YZ", "Edinburgh")),
        ("High Street", "Station Road", "Church Lane", "Victoria Road"),
        ("UPS", "DHL"), (5, 12),
    ),
    Market(
        "US", "en", 0.04, "+1 555",
        ("James", "Olivia", "Noah", "Emma", "Liam", "Sophia"),
        ("Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson"),
        (("10001", "New York, NY"), ("98101", "Seattle, WA"), ("55401", "Minneapolis, MN")),
        ("Main Street", "Oak Avenue", "Maple Drive"),
        ("UPS", "DHL"), (5, 12),
    ),
    Market(
        "TW", "zh-TW", 0.16, "+886 912",
        ("怡君", "志明", "雅婷", "家豪", "淑芬", "俊傑", "美玲", "建宏", "宜蓁", "冠宇"),
        ("陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊"),
        (("100", "台北市"), ("220", "新北市"), ("403", "台中市"), ("800", "高雄市"),
         ("700", "台南市")),
        ("中山路", "民生東路", "忠孝東路", "復興南路"),
        ("UPS", "DHL"), (5, 12),
        family_name_first=True,
        romanised=TW_ROMAN,
    ),
)  # fmt: skip

PRODUCTS: tuple[tuple[str, str, str], ...] = (
    ("NV-LAMP-01", "Birch table lamp", "499.00"),
    ("NV-LAMP-02", "Linen floor lamp", "1290.00"),
    ("NV-BULB-02", "LED bulb E27, 2-pack", "89.00"),
    ("NV-THRW-01", "Wool throw, grey", "699.00"),
    ("NV-CUSH-03", "Linen cushion cover", "249.00"),
    ("NV-MUG-04", "Stoneware mug, set of 4", "299.00"),
    ("NV-PLAT-05", "Dinner plates, set of 6", "549.00"),
    ("NV-GLAS-06", "Water glasses, set of 6", "199.00"),
    ("NV-KETL-07", "Electric kettle 1.7 l", "649.00"),
    ("NV-COFF-08", "Pour-over coffee maker", "379.00"),
    ("NV-GRIN-09", "Electric coffee grinder", "899.00"),
    ("NV-TOWL-10", "Cotton bath towel", "199.00"),
    ("NV-BEDL-11", "Percale bed linen set", "899.00"),
    ("NV-RUG-12", "Hand-woven rug 170x240", "2490.00"),
    ("NV-CAND-13", "Scented candle, pine", "149.00"),
    ("NV-VASE-14", "Glass vase, smoke", "349.00"),
    ("NV-SPKR-15", "Bluetooth speaker, oak", "1490.00"),
    ("NV-HDPH-16", "Wireless headphones", "1990.00"),
    ("NV-CHRG-17", "Wireless charger pad", "399.00"),
    ("NV-CLCK-18", "Wooden alarm clock", "449.00"),
    ("NV-SHLF-19", "Wall shelf, ash", "799.00"),
    ("NV-HOOK-20", "Coat hooks, brass, 3-pack", "229.00"),
    ("NV-BOX-21", "Storage box, felt", "179.00"),
    ("NV-PLNT-22", "Ceramic plant pot", "259.00"),
    ("NV-BLND-23", "Hand blender", "749.00"),
    ("NV-TOAS-24", "Two-slice toaster", "599.00"),
    ("NV-SCAL-25", "Kitchen scale", "329.00"),
    ("NV-KNIF-26", "Chef's knife 20 cm", "899.00"),
    ("NV-BRD-27", "Oak cutting board", "399.00"),
    ("NV-GIFT-28", "Gift card", "500.00"),
)

STATUS_WEIGHTS: dict[str, float] = {
    "pending": 0.05,
    "paid": 0.07,
    "packed": 0.06,
    "shipped": 0.07,
    "in_transit": 0.10,
    "delivered": 0.36,
    "delayed": 0.05,
    "cancelled": 0.09,
    "returned": 0.07,
    "refunded": 0.08,
}

DELAY_REASONS = (
    ("Delayed: severe weather at the hub", "the hub"),
    ("Delayed: high parcel volumes at the sorting terminal", "sorting terminal"),
    ("Delayed: the parcel missed its connecting transport", "terminal"),
    ("Delayed: held in customs for inspection", "customs"),
    ("Delayed: the address label could not be read and is being checked", "terminal"),
)
CANCEL_REASONS = (
    "cancelled at the customer's request",
    "the payment was not completed",
    "an item went out of stock",
    "cancelled at the customer's request before packing",
)
RETURN_REASONS = (
    "too small",
    "changed my mind",
    "arrived damaged",
    "not as pictured",
    "wrong colour",
    "exchange for another size",
)
CASE_SUBJECTS = (
    ("Where is my parcel?", "Parcel located; customer informed of the new ETA."),
    ("Wants to change the delivery address", "Address changed before packing."),
    ("Damaged item on arrival", "Replacement sent; item under 500 SEK kept by customer."),
    ("Question about Klarna invoice", "Explained the 30-day invoice terms."),
    ("Refund not received yet", "Refund confirmed; bank processing time explained."),
    ("Asks for a company invoice with VAT number", "Invoice with VAT number sent."),
    ("Warranty claim: kettle stopped working", "Warranty replacement approved."),
    ("Customer asked for a human in the chat", "Answered the customer's question in chat."),
)
CSAT_COMMENTS = (
    None,
    None,
    "Quick and friendly, thanks!",
    "The bot found my order right away.",
    "Took a while to reach a person.",
    "Tack för hjälpen!",
    "Takk for hjelpen!",
    "謝謝，很快就解決了。",
    "Would like delivery updates by SMS.",
)
WAREHOUSE = "Borås, SE"
HUBS = {
    "SE": "Jönköping, SE", "NO": "Oslo terminal, NO", "DK": "Brøndby, DK", "FI": "Vantaa, FI",
    "DE": "Leipzig hub, DE", "GB": "East Midlands, GB", "US": "Louisville, US",
    "TW": "Taoyuan, TW",
}  # fmt: skip
SHIPPING_FEES = {"SE": Decimal("49.00"), "NO": Decimal("99.00"), "DK": Decimal("99.00")}
SHIPPING_FEES |= {"FI": Decimal("99.00"), "DE": Decimal("149.00")}
INTERNATIONAL_FEE = Decimal("249.00")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

_ASCII_FOLD = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ß": "ss", "ö": "o", "ä": "a"})


def _ascii(name: str, market: Market) -> str:
    if name in market.romanised:
        return market.romanised[name]
    folded = unicodedata.normalize("NFKD", name.lower().translate(_ASCII_FOLD))
    return "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == "-"))


def shipping_fee(country: str, subtotal: Decimal) -> Decimal:
    if country == "SE":
        return Decimal("0.00") if subtotal >= Decimal("499") else SHIPPING_FEES["SE"]
    return SHIPPING_FEES.get(country, INTERNATIONAL_FEE)


# --------------------------------------------------------------------------- generation


@dataclass
class Dataset:
    """Rows per table, in insertion order, with explicit ids."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, table: str, row: dict[str, Any]) -> int:
        rows = self.tables.setdefault(table, [])
        row_id = len(rows) + 1
        rows.append({"id": row_id, **row})
        return row_id

    def count(self, table: str) -> int:
        return len(self.tables.get(table, []))


class _Generator:
    def __init__(self, anchor: date, seed: int) -> None:
        self.rng = random.Random(seed)
        # "Now" for the data set: the start of the anchor day (UTC); events are before it.
        self.now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=timezone.utc)
        self.anchor = anchor
        self.data = Dataset()
        self.customer_market: dict[int, Market] = {}
        self.customer_address: dict[int, str] = {}
        self.tracking_seen: set[str] = set()

    def ago(self, days: float) -> datetime:
        moment = self.now - timedelta(days=days)
        return moment.replace(microsecond=0)

    def customers(self, n: int) -> None:
        rng = self.rng
        weights = [m.weight for m in MARKETS]
        used: Counter[str] = Counter()
        for i in range(n):
            market = MARKETS[i % len(MARKETS)] if i < len(MARKETS) else None
            market = market or rng.choices(MARKETS, weights=weights)[0]
            first = rng.choice(market.first_names)
            last = rng.choice(market.last_names)
            name = f"{last}{first}" if market.family_name_first else f"{first} {last}"
            local = f"{_ascii(first, market)}.{_ascii(last, market)}"
            domain = rng.choice(EMAIL_DOMAINS)
            base = f"{local}@{domain}"
            used[base] += 1
            email = base if used[base] == 1 else f"{local}{used[base]}@{domain}"
            postcode, city = rng.choice(market.cities)
            street = rng.choice(market.streets)
            number = rng.randint(1, 120)
            address = (
                f"{postcode} {city}{street} {number} 號"
                if market.country == "TW"
                else f"{street} {number}, {postcode} {city}"
            )
            cid = self.data.add(
                "customers",
                {
                    "name": name,
                    "email": email.lower(),
                    "phone": f"{market.phone_prefix} {rng.randint(100, 999)} "
                    f"{rng.randint(1000, 9999)}",
                    "country": market.country,
                    "language": market.language,
                    "created_at": self.ago(rng.uniform(160, 1500)),
                },
            )
            self.customer_market[cid] = market
            self.customer_address[cid] = address

    def _tracking(self, carrier: str) -> str:
        rng = self.rng
        while True:
            if carrier == "PostNord":
                number = f"00370{rng.randint(10**12, 10**13 - 1)}"
            elif carrier == "Budbee":
                number = f"BUD{rng.randint(10**9, 10**10 - 1)}"
            elif carrier == "Bring":
                number = f"70{rng.randint(10**14, 10**15 - 1)}"
            elif carrier == "DHL":
                number = f"{rng.randint(10**9, 10**10 - 1)}"
            else:
                number = f"1Z{rng.randint(10**15, 10**16 - 1):X}"[:18]
            if number not in self.tracking_seen:
                self.tracking_seen.add(number)
                return number

    def _timeline(self, status: str, market: Market) -> dict[str, Any]:
        """When things happened, in days before 'now', for an order in this status."""
        rng = self.rng
        lo, hi = market.transit_days
        transit = rng.uniform(lo, hi)
        t: dict[str, Any] = {}
        if status == "pending":
            t["placed"] = rng.uniform(0.02, 1.0)
        elif status == "paid":
            t["placed"] = rng.uniform(0.1, 2.0)
        elif status == "packed":
            t["placed"] = rng.uniform(0.8, 3.0)
        elif status == "shipped":
            t["placed"] = rng.uniform(1.5, 4.0)
            t["shipped"] = rng.uniform(0.05, min(1.0, t["placed"] - 0.5))
            t["eta_in"] = max(1, round(transit - t["shipped"]))
        elif status == "in_transit":
            t["placed"] = rng.uniform(2.5, 6.0 + lo)
            t["shipped"] = rng.uniform(1.0, t["placed"] - 0.8)
            t["eta_in"] = max(0, round(transit - t["shipped"]))
        elif status == "delayed":
            t["placed"] = rng.uniform(5.0, 14.0)
            t["shipped"] = t["placed"] - rng.uniform(0.8, 2.0)
            t["delay"] = rng.uniform(0.2, t["shipped"] - 0.5)
            t["eta_in"] = rng.randint(2, 6)
        elif status == "delivered":
            # Spread over 1-90 days ago: about a third still inside the 30-day window.
            t["delivered"] = rng.uniform(0.5, 90.0)
        elif status == "returned":
            t["delivered"] = rng.uniform(6.0, 28.0)
        elif status == "refunded":
            t["delivered"] = rng.uniform(12.0, 150.0)
        elif status == "cancelled":
            t["placed"] = rng.uniform(0.5, 150.0)
            t["cancelled"] = t["placed"] - rng.uniform(0.05, min(2.0, t["placed"] - 0.01))
        if "delivered" in t:
            t["shipped"] = t["delivered"] + transit
            t["placed"] = t["shipped"] + rng.uniform(0.5, 2.0)
        return t

    def orders(self, n: int) -> None:
        rng = self.rng
        n_customers = self.data.count("customers")
        statuses = list(ORDER_STATUSES) + rng.choices(
            list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()), k=max(0, n - 10)
        )
        statuses = statuses[:n]
        planned = []
        for status in statuses:
            customer_id = rng.randint(1, n_customers)
            market = self.customer_market[customer_id]
            planned.append((status, customer_id, market, self._timeline(status, market)))
        # Order numbers grow with the time the order was placed, like a real shop's.
        planned.sort(key=lambda p: -float(p[3]["placed"]))
        numbers = sorted(rng.sample(range(10000, 100000), n))
        for number, (status, customer_id, market, t) in zip(numbers, planned, strict=True):
            self._order(f"A{number}", status, customer_id, market, t)

    def _order(
        self, number: str, status: str, customer_id: int, market: Market, t: dict[str, Any]
    ) -> None:
        rng = self.rng
        products = rng.sample(PRODUCTS, k=rng.choices((1, 2, 3, 4), weights=(5, 3, 2, 1))[0])
        lines = [(sku, name, rng.choices((1, 2, 3), weights=(8, 2, 1))[0], Decimal(price))
                 for sku, name, price in products]  # fmt: skip
        subtotal = sum((price * qty for _, _, qty, price in lines), Decimal("0"))
        total = (subtotal + shipping_fee(market.country, subtotal)).quantize(CENT)
        placed_at = self.ago(t["placed"])
        last_change = t.get("delivered", t.get("cancelled", t.get("shipped", t["placed"])))
        order_id = self.data.add(
            "orders",
            {
                "number": number,
                "customer_id": customer_id,
                "status": status,
                "placed_at": placed_at,
                "updated_at": self.ago(last_change),
                "total": total,
                "currency": "SEK",
                "shipping_address": self.customer_address[customer_id],
                "shipping_country": market.country,
                "delivered_at": self.ago(t["delivered"]) if "delivered" in t else None,
                "cancelled_at": self.ago(t["cancelled"]) if "cancelled" in t else None,
                "cancel_reason": rng.choice(CANCEL_REASONS) if status == "cancelled" else None,
            },
        )
        for sku, name, qty, price in lines:
            self.data.add(
                "order_lines",
                {"order_id": order_id, "sku": sku, "name": name, "qty": qty, "unit_price": price},
            )
        if "shipped" in t:
            self._shipment(order_id, status, market, t)
        if status in ("returned", "refunded"):
            self._return(order_id, customer_id, status, t, lines[0])
        elif status == "delivered" and t["delivered"] < RETURN_WINDOW_DAYS and rng.random() < 0.03:
            # A few customers already started a return inside the window.
            created = rng.uniform(0.05, t["delivered"] - 0.01)
            case_id = self._case(customer_id, order_id, f"Return of order {number}", created,
                                 "open", None)  # fmt: skip
            self.data.add(
                "returns",
                {"order_id": order_id, "case_id": case_id, "status": "requested",
                 "reason": rng.choice(RETURN_REASONS), "created_at": self.ago(created),
                 "received_at": None, "refunded_at": None, "refund_amount": None},
            )  # fmt: skip

    def _shipment(self, order_id: int, status: str, market: Market, t: dict[str, Any]) -> None:
        rng = self.rng
        carrier = rng.choice(market.carriers)
        tracking = self._tracking(carrier)
        ship_status = {"shipped": "shipped", "in_transit": "in_transit", "delayed": "delayed"}
        eta = (
            self.anchor + timedelta(days=int(t["eta_in"]))
            if "eta_in" in t
            else (self.now - timedelta(days=t["delivered"])).date()
        )
        shipment_id = self.data.add(
            "shipments",
            {
                "order_id": order_id,
                "carrier": carrier,
                "tracking_number": tracking,
                "tracking_url": tracking_url(carrier, tracking),
                "status": ship_status.get(status, "delivered"),
                "eta": eta,
                "shipped_at": self.ago(t["shipped"]),
            },
        )
        hub = HUBS.get(market.country, "Hub")
        events: list[tuple[float, str, str, str]] = [
            (t["shipped"] + 0.2, "label_created", WAREHOUSE, "Shipment information received"),
            (t["shipped"], "shipped", WAREHOUSE, f"Picked up by {carrier}"),
        ]
        if status != "shipped":
            first_hub = (
                t.get("delay", t.get("delivered", 0.0))
                + (t["shipped"] - t.get("delay", t.get("delivered", 0.0))) / 2
            )
            events.append((first_hub, "in_transit", hub, "Arrived at the terminal"))
        if status == "delayed":
            description, place = rng.choice(DELAY_REASONS)
            location = hub if place != "customs" else f"Customs, {market.country}"
            events.append((t["delay"], "delayed", location, description))
        if "delivered" in t:
            city = self.customer_address_city(market)
            events.append((t["delivered"] + 0.2, "out_for_delivery", city, "Out for delivery"))
            events.append((t["delivered"], "delivered", city, "Delivered"))
        for days, ev_status, location, description in events:
            self.data.add(
                "shipment_events",
                {
                    "shipment_id": shipment_id,
                    "occurred_at": self.ago(days),
                    "status": ev_status,
                    "location": location,
                    "description": description,
                },
            )

    def customer_address_city(self, market: Market) -> str:
        return f"{self.rng.choice(market.cities)[1]}, {market.country}"

    def _case(
        self,
        customer_id: int | None,
        order_id: int | None,
        subject: str,
        created_days: float,
        status: str,
        resolution: str | None,
        channel: str = "chat",
        closed_days: float | None = None,
        conversation_id: str | None = None,
        thread: tuple[str, str] | None = None,
    ) -> int:
        return self.data.add(
            "support_cases",
            {
                "customer_id": customer_id,
                "order_id": order_id,
                "subject": subject,
                "channel": channel,
                "status": status,
                "conversation_id": conversation_id,
                "slack_channel": thread[0] if thread else None,
                "slack_thread_ts": thread[1] if thread else None,
                "resolution": resolution,
                "created_at": self.ago(created_days),
                "closed_at": None if closed_days is None else self.ago(closed_days),
            },
        )

    def _return(
        self,
        order_id: int,
        customer_id: int,
        status: str,
        t: dict[str, Any],
        line: tuple[str, str, int, Decimal],
    ) -> None:
        rng = self.rng
        created = t["delivered"] - rng.uniform(0.3, min(5.0, t["delivered"] - 3.0))
        received = created - rng.uniform(1.0, min(3.0, created - 0.5))
        refunded = (
            received - rng.uniform(0.5, min(4.0, received - 0.1)) if status == "refunded" else None
        )
        number = self.data.tables["orders"][order_id - 1]["number"]
        case_id = self._case(
            customer_id,
            order_id,
            f"Return of order {number}",
            created,
            "closed" if refunded is not None else "open",
            "Refund paid to the original payment method." if refunded is not None else None,
            closed_days=refunded,
        )
        _, _, qty, price = line
        self.data.add(
            "returns",
            {
                "order_id": order_id,
                "case_id": case_id,
                "status": "refunded" if refunded is not None else "received",
                "reason": rng.choice(RETURN_REASONS),
                "created_at": self.ago(created),
                "received_at": self.ago(received),
                "refunded_at": None if refunded is None else self.ago(refunded),
                "refund_amount": (price * qty).quantize(CENT),
            },
        )

    def history(self, n_cases: int, n_conversations: int) -> None:
        """Support cases, chat turns and CSAT ratings of the past 60 days."""
        rng = self.rng
        orders = self.data.tables["orders"]
        for i in range(n_cases):
            order = rng.choice(orders)
            subject, resolution = rng.choice(CASE_SUBJECTS)
            created = rng.uniform(0.1, 60.0)
            status = rng.choices(("open", "handoff", "closed"), weights=(2, 1, 7))[0]
            channel = rng.choice(("chat", "email", "phone"))
            conversation = f"seed-conv-{i:05d}" if channel == "chat" else None
            thread = (
                ("C0NORDVIK01", f"{int(self.ago(created).timestamp())}.{i:06d}")
                if status == "handoff" or (channel == "chat" and rng.random() < 0.4)
                else None
            )
            self._case(
                order["customer_id"],
                order["id"] if rng.random() < 0.8 else None,
                subject,
                created,
                status,
                resolution if status == "closed" else None,
                channel=channel,
                closed_days=created - rng.uniform(0.01, min(2.0, created * 0.9))
                if status == "closed"
                else None,
                conversation_id=conversation,
                thread=thread,
            )
        for i in range(n_conversations):
            order = rng.choice(orders)
            conversation = f"seed-web-{i:05d}"
            start = rng.uniform(0.1, 60.0)
            turns = [
                ("in", f"Where is my order {order['number']}?"),
                ("out", f"Your order {order['number']} is {order['status'].replace('_', ' ')}."),
            ]
            if rng.random() < 0.3:
                turns += [("in", "Thanks!"), ("out", "Happy to help.")]
            for k, (direction, body) in enumerate(turns):
                self.data.add(
                    "interactions",
                    {
                        "customer_id": order["customer_id"],
                        "conversation_id": conversation,
                        "channel": "web",
                        "direction": direction,
                        "text": body,
                        "order_number": order["number"],
                        "created_at": self.ago(start - k * 0.0005),
                    },
                )
            if rng.random() < 0.25:
                self.data.add(
                    "csat_feedback",
                    {
                        "conversation_id": conversation,
                        "customer_id": order["customer_id"],
                        "case_id": None,
                        "rating": rng.choices((1, 2, 3, 4, 5), weights=(1, 1, 2, 6, 12))[0],
                        "comment": rng.choice(CSAT_COMMENTS),
                        "created_at": self.ago(start - 0.01),
                    },
                )


def build_dataset(
    anchor: date,
    *,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    orders: int = DEFAULT_ORDERS,
) -> Dataset:
    """The whole demo data set in memory; the same arguments always give the same rows."""
    if customers < 1 or orders < len(ORDER_STATUSES):
        raise ValueError(f"need at least 1 customer and {len(ORDER_STATUSES)} orders")
    if orders > 90_000:
        raise ValueError("order numbers have 5 digits: at most 90,000 orders")
    gen = _Generator(anchor, seed)
    gen.customers(customers)
    gen.orders(orders)
    gen.history(n_cases=max(10, orders // 15), n_conversations=max(10, orders // 3))
    return gen.data


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class SeedReport:
    seeded: bool  # False: the store already had data and was left alone
    counts: dict[str, int]
    statuses: dict[str, int]
    seconds: float


def _count(engine: Engine, model: Any) -> int:
    with translate_errors(engine), engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def is_empty(engine: Engine) -> bool:
    return _count(engine, Customer) == 0 and _count(engine, Order) == 0


def wipe(engine: Engine) -> None:
    """Delete every row of the store's tables (the schema and other packages' tables stay)."""
    with translate_errors(engine), engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


INSERT_ORDER = (
    (Customer, "customers"),
    (Order, "orders"),
    (OrderLine, "order_lines"),
    (Shipment, "shipments"),
    (ShipmentEvent, "shipment_events"),
    (SupportCase, "support_cases"),
    (Return, "returns"),
    (Interaction, "interactions"),
    (CsatFeedback, "csat_feedback"),
)


def load(engine: Engine, data: Dataset, chunk: int = 5000) -> None:
    """Bulk-insert a data set into an empty store in one transaction."""
    with translate_errors(engine), engine.begin() as conn:
        for model, name in INSERT_ORDER:
            rows = data.tables.get(name, [])
            for start in range(0, len(rows), chunk):
                conn.execute(insert(model.__table__), rows[start : start + chunk])
        if engine.dialect.name == "postgresql":
            # Explicit ids do not advance the serial sequences; move them past the data.
            for _, name in INSERT_ORDER:
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
                    )
                )


def seed(
    engine: Engine,
    *,
    anchor: date,
    seed: int = DEFAULT_SEED,
    customers: int = DEFAULT_CUSTOMERS,
    orders: int = DEFAULT_ORDERS,
    force: bool = False,
) -> SeedReport:
    """Seed an empty store (or wipe and reseed with ``force``); returns what is in it now."""
    started = time.perf_counter()
    seeded = False
    if force or is_empty(engine):
        if force:
            wipe(engine)
        data = build_dataset(anchor, seed=seed, customers=customers, orders=orders)
        load(engine, data)
        seeded = True
        logger.info("seeded the order store with %s orders", data.count("orders"))
    counts = {name: _count(engine, model) for model, name in INSERT_ORDER}
    with translate_errors(engine), engine.connect() as conn:
        rows = conn.execute(select(Order.status, func.count()).group_by(Order.status)).all()
    statuses = {status: 0 for status in ORDER_STATUSES} | {s: int(n) for s, n in rows}
    return SeedReport(
        seeded=seeded, counts=counts, statuses=statuses, seconds=time.perf_counter() - started
    )


@dataclass(frozen=True)
class SampleOrder:
    label: str
    number: str
    email: str
    status: str


def sample_orders(engine: Engine, today: date) -> list[SampleOrder]:
    """One order per status to try the bot with, plus delivered ones inside/outside the window."""
    out: list[SampleOrder] = []
    cutoff = datetime(today.year, today.month, today.day, tzinfo=timezone.utc) - timedelta(
        days=RETURN_WINDOW_DAYS - 1
    )
    with translate_errors(engine), engine.connect() as conn:
        base = (
            select(Order.number, Customer.email, Order.status)
            .join(Customer, Order.customer_id == Customer.id)
            .order_by(Order.number)
            .limit(1)
        )
        for status in ORDER_STATUSES:
            query = base.where(Order.status == status)
            label = status
            if status == "delivered":
                open_returns = select(Return.order_id)
                query = (
                    query.where(Order.delivered_at >= cutoff, Order.id.notin_(open_returns))
                    .order_by(None)
                    .order_by(Order.delivered_at.desc(), Order.number)
                )
                label = "delivered (return window open)"
            row = conn.execute(query).first()
            if row is not None:
                out.append(SampleOrder(label, row[0], row[1], row[2]))
            if status == "delivered":
                closed = conn.execute(
                    base.where(Order.status == "delivered", Order.delivered_at < cutoff)
                ).first()
                if closed is not None:
                    out.append(
                        SampleOrder("delivered (return window closed)", closed[0], closed[1],
                                    closed[2])
                    )  # fmt: skip
    return out
