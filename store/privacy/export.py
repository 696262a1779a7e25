"""Everything held about one customer, as JSON-ready data (GDPR art. 15): their store rows, the
rows of other tables in the store's database that mention them, and their conversations' tracker
events with sealed values opened."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from nordvik.trackers import TRACKER_EVENTS_TABLE
from store.models import (
    CsatFeedback,
    Customer,
    Interaction,
    Order,
    OrderLine,
    Return,
    Shipment,
    ShipmentEvent,
    SupportCase,
    utcnow,
)
from store.privacy.databases import (
    STORE_TABLES,
    PrivacyDatabases,
    chunks,
    open_engine,
    reflect,
    text_columns,
    wrap_error,
)
from store.privacy.person import (
    Person,
    events_table,
    find_person,
    store_conversations,
    tracker_mentions,
    unseal_all,
)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _rows(conn: Connection, statement: Any) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in conn.execute(statement)]


def export_customer(databases: PrivacyDatabases, email: str) -> dict[str, Any] | None:
    """Everything held about the customer with this address, or None when nothing is."""
    try:
        with open_engine(databases.store_url) as engine, engine.connect() as conn:
            person = find_person(conn, email)
            if person is None:
                return None
            cid = person.customer_id
            customer = _rows(conn, select(Customer.__table__).where(Customer.id == cid))[0]
            order_ids = list(conn.execute(select(Order.id).where(Order.customer_id == cid))
                             .scalars())
            orders = _rows(conn, select(Order.__table__).where(Order.customer_id == cid)
                           .order_by(Order.placed_at))
            for order in orders:
                oid = order["id"]
                order["lines"] = _rows(conn, select(OrderLine.__table__)
                                       .where(OrderLine.order_id == oid))
                order["shipments"] = _rows(conn, select(Shipment.__table__)
                                           .where(Shipment.order_id == oid))
                for shipment in order["shipments"]:
                    shipment["events"] = _rows(conn, select(ShipmentEvent.__table__).where(
                        ShipmentEvent.shipment_id == shipment["id"]))
                order["returns"] = _rows(conn, select(Return.__table__)
                                         .where(Return.order_id == oid))
            cases = _rows(conn, select(SupportCase.__table__).where(
                (SupportCase.customer_id == cid) | SupportCase.order_id.in_(order_ids or [-1])))
            interactions = _rows(conn, select(Interaction.__table__)
                                 .where(Interaction.customer_id == cid)
                                 .order_by(Interaction.created_at, Interaction.id))
            csat = _rows(conn, select(CsatFeedback.__table__)
                         .where(CsatFeedback.customer_id == cid))
            conversations = store_conversations(conn, cid)
            feedback = _feedback_mentions(conn, person)
    except SQLAlchemyError as exc:
        raise wrap_error(databases.store_url, exc) from exc
    events_by_conversation = _export_trackers(databases, person, conversations)
    return {
        "exported_at": utcnow().isoformat(),
        "customer": customer,
        "orders": orders,
        "support_cases": cases,
        "interactions": interactions,
        "csat": csat,
        "knowledge_feedback": feedback,
        "conversations": events_by_conversation,
    }


def _feedback_mentions(conn: Connection, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Rows of other tables in the store's database (knowledge votes and gaps, ...) that mention
    the customer's address or name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in reflect(conn):
        if table.name in STORE_TABLES or table.name == TRACKER_EVENTS_TABLE:
            continue
        for column in text_columns(table):
            for needle in person.needles():
                for row in conn.execute(select(table).where(func.lower(column).contains(needle))):
                    value = row._mapping[column.name]
                    if value and person.mentioned_in(str(value)):
                        item = {k: _plain(v) for k, v in row._mapping.items()}
                        if item not in found.setdefault(table.name, []):
                            found[table.name].append(item)
    return found


def _export_trackers(databases: PrivacyDatabases, person: Person,
                     conversations: set[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    url = databases.tracker_url
    try:
        with open_engine(url) as engine, engine.connect() as conn:
            events = events_table(conn)
            if events is None:
                return out
            wanted = set(conversations) | tracker_mentions(conn, events, person)
            for chunk in chunks(wanted):
                for sender, data in conn.execute(
                    select(events.c.sender_id, events.c.data)
                    .where(events.c.sender_id.in_(chunk)).order_by(events.c.id)
                ):
                    try:
                        parsed = json.loads(data)
                    except (TypeError, ValueError):
                        parsed = {"unreadable": True}
                    out.setdefault(str(sender), []).append(unseal_all(parsed))
    except SQLAlchemyError as exc:
        raise wrap_error(url, exc) from exc
    return out
