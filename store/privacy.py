"""A customer's data: export it, erase it, and age old conversations out (GDPR art. 15 and 17).

    export_customer(db, "anna@example.com")   -> dict (JSON-ready) or None when nothing is held
    forget_customer(db, "anna@example.com")   -> ForgetReport (idempotent)
    purge_older_than(db, timedelta(days=180)) -> PurgeReport

`PrivacyDatabases.from_env()` names the databases that can hold a customer's data:

- the store (DATABASE_URL): customers, orders, cases, returns, interactions, CSAT, failed
  verifications, and the knowledge feedback tables (kb_votes, kb_gaps) that share it;
- Rasa's tracker store (nordvik.trackers: the PostgreSQL DATABASE_URL, else TRACKER_DB), table
  `events`;
- copies of conversations elsewhere: PRIVACY_EXTRA_DATABASES (comma list of URLs), and the
  `extra_urls` its caller names. The store knows no package above it: forgetting a customer
  everywhere (the analytics tables, the e-mail channel's spool) is customer_data.forget's job.

A customer's conversations are those named by their store rows (interactions, cases, CSAT) and
those whose tracker events mention their address or full name (also inside sealed slot values).
`forget` removes those conversations everywhere (every table with a `sender_id` or
`conversation_id` column), deletes interactions and CSAT answers, anonymises the customer, their
cases, returns and orders (orders are kept for bookkeeping: number, status, amounts, items,
dates; the address is removed), and finally replaces any remaining occurrence of the address or
the full name in any text column of any of the databases. It logs counts and the customer's
internal id, never the address or the name.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import MetaData, String, Table, Text, bindparam, delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from nordvik.emails import normalize_email
from nordvik.env import env_list
from nordvik.secrets import SEALED_PREFIX, unseal
from nordvik.trackers import TRACKER_EVENTS_TABLE, tracker_database_url
from store.db import describe_url, make_engine, unavailable_error
from store.errors import InvalidInput, StoreError
from store.models import (
    CsatFeedback,
    Customer,
    FailedVerification,
    Interaction,
    Order,
    OrderLine,
    Return,
    Shipment,
    ShipmentEvent,
    SupportCase,
    utcnow,
)
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

REMOVED = "[removed]"
NAME_PLACEHOLDER = "[name]"
EMAIL_PLACEHOLDER = "[e-mail]"
FORGOTTEN_NAME = "[forgotten]"
SEAL_PURPOSES = ("email", "tracker-slot")
CONVERSATION_COLUMNS = ("sender_id", "conversation_id")
# The store's own tables are handled row by row; the sweeps leave them to that code.
STORE_TABLES = frozenset(table.__tablename__ for table in (
    Customer, Order, OrderLine, Shipment, ShipmentEvent, SupportCase, Return, Interaction,
    CsatFeedback,
))
_CHUNK = 500


@dataclass(frozen=True)
class PrivacyDatabases:
    """The databases that can hold a customer's data (duplicates removed, order kept)."""

    store_url: str
    tracker_url: str
    extra_urls: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, store_url: str | None = None,
                 extra_urls: Sequence[str] = ()) -> PrivacyDatabases:
        extra = [*env_list(env, "PRIVACY_EXTRA_DATABASES"), *(str(url) for url in extra_urls)]
        return cls(
            store_url=store_url or StoreSettings.from_env(env).database_url,
            tracker_url=tracker_database_url(env),
            extra_urls=tuple(extra),
        )

    def all_urls(self) -> list[str]:
        seen: list[str] = []
        for url in (self.store_url, self.tracker_url, *self.extra_urls):
            if url and url not in seen:
                seen.append(url)
        return seen


@dataclass
class ForgetReport:
    found: bool
    customer_id: int | None = None
    conversations: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)
    rows_anonymised: dict[str, int] = field(default_factory=dict)
    text_redacted: dict[str, int] = field(default_factory=dict)
    slack_threads: int = 0

    def count(self, bucket: dict[str, int], table: str, n: int) -> None:
        if n:
            bucket[table] = bucket.get(table, 0) + n


@dataclass
class PurgeReport:
    cutoff: datetime
    conversations: int = 0
    tracker_events: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


@contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _reflect(conn: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(bind=conn)
    return list(metadata.sorted_tables)


def _text_columns(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, (String, Text))]


def _primary_key(table: Table) -> Any | None:
    keys = list(table.primary_key.columns)
    return keys[0] if len(keys) == 1 else None


def _email_pattern(address: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![A-Za-z0-9._%+-]){re.escape(address)}(?![A-Za-z0-9-]|\.[A-Za-z0-9])", re.IGNORECASE
    )


def _name_patterns(name: str) -> list[re.Pattern[str]]:
    """The full name as typed and as it appears inside JSON (non-ASCII escaped)."""
    variants = {name, json.dumps(name)[1:-1]}
    return [re.compile(rf"(?<!\w){re.escape(v)}(?!\w)", re.IGNORECASE) for v in variants if v]


@dataclass(frozen=True)
class _Person:
    customer_id: int
    email: str
    name: str

    def patterns(self) -> list[tuple[re.Pattern[str], str]]:
        found: list[tuple[re.Pattern[str], str]] = [(_email_pattern(self.email), EMAIL_PLACEHOLDER)]
        if len(self.name.strip()) >= 3:
            found += [(p, NAME_PLACEHOLDER) for p in _name_patterns(self.name.strip())]
        return found

    def needles(self) -> list[str]:
        """Lower-case substrings for a coarse LIKE filter before the exact patterns."""
        out = {self.email.lower()}
        if len(self.name.strip()) >= 3:
            out |= {self.name.strip().lower(), json.dumps(self.name.strip())[1:-1].lower()}
        return sorted(out)

    def mentioned_in(self, text: str) -> bool:
        return any(pattern.search(text) for pattern, _ in self.patterns())


def _find_person(conn: Connection, email: str) -> _Person | None:
    address = normalize_email(email)
    if address is None:
        raise InvalidInput("that is not an e-mail address")
    row = conn.execute(
        select(Customer.id, Customer.email, Customer.name)
        .where(func.lower(Customer.email) == address)
    ).first()
    if row is None:
        return None
    return _Person(int(row[0]), str(row[1]).lower(), str(row[2] or ""))


def _store_conversations(conn: Connection, customer_id: int) -> set[str]:
    ids: set[str] = set()
    for column, owner in ((Interaction.conversation_id, Interaction.customer_id),
                          (SupportCase.conversation_id, SupportCase.customer_id),
                          (CsatFeedback.conversation_id, CsatFeedback.customer_id)):
        ids |= {str(v) for v in conn.execute(select(column).where(owner == customer_id)).scalars()
                if v}
    return ids


def _events_table(conn: Connection) -> Table | None:
    metadata = MetaData()
    try:
        metadata.reflect(bind=conn, only=[TRACKER_EVENTS_TABLE])
    except SQLAlchemyError:
        return None
    table = metadata.tables.get(TRACKER_EVENTS_TABLE)
    if table is None or "sender_id" not in table.c or "data" not in table.c:
        return None
    return table


def _unsealed_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(SEALED_PREFIX):
            for purpose in SEAL_PURPOSES:
                opened = unseal(value, purpose=purpose)
                if opened is not None:
                    yield opened
    elif isinstance(value, dict):
        for item in value.values():
            yield from _unsealed_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _unsealed_strings(item)


def _unseal_all(value: Any) -> Any:
    """For the export: sealed values opened (the customer's own data, readable)."""
    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        for purpose in SEAL_PURPOSES:
            opened = unseal(value, purpose=purpose)
            if opened is not None:
                return opened
        return value
    if isinstance(value, dict):
        return {k: _unseal_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unseal_all(v) for v in value]
    return value


def _tracker_mentions(conn: Connection, events: Table, person: _Person) -> set[str]:
    """Conversations whose events mention the person (address or name, or a sealed address)."""
    found: set[str] = set()
    lowered = func.lower(events.c.data)
    for needle in person.needles():
        for sender, data in conn.execute(
            select(events.c.sender_id, events.c.data).where(lowered.contains(needle))
        ):
            if data and person.mentioned_in(str(data)):
                found.add(str(sender))
    for sender, data in conn.execute(
        select(events.c.sender_id, events.c.data).where(events.c.data.contains(SEALED_PREFIX))
    ):
        if str(sender) in found:
            continue
        try:
            parsed = json.loads(data)
        except (TypeError, ValueError):
            continue
        if any(normalize_email(text) == person.email for text in _unsealed_strings(parsed)):
            found.add(str(sender))
    return found


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    items = sorted(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


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


def _wrap(url: str, exc: SQLAlchemyError) -> StoreError:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        return unavailable_error(exc, url)
    return StoreError(f"{describe_url(url)}: {type(exc).__name__}")


# --------------------------------------------------------------------------- export


def export_customer(databases: PrivacyDatabases, email: str) -> dict[str, Any] | None:
    """Everything held about the customer with this address, or None when nothing is."""
    try:
        with _engine(databases.store_url) as engine, engine.connect() as conn:
            person = _find_person(conn, email)
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
            conversations = _store_conversations(conn, cid)
            feedback = _feedback_mentions(conn, person)
    except SQLAlchemyError as exc:
        raise _wrap(databases.store_url, exc) from exc
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


def _feedback_mentions(conn: Connection, person: _Person) -> dict[str, list[dict[str, Any]]]:
    """Rows of other tables in the store's database (knowledge votes and gaps, ...) that mention
    the customer's address or name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for table in _reflect(conn):
        if table.name in STORE_TABLES or table.name == TRACKER_EVENTS_TABLE:
            continue
        for column in _text_columns(table):
            for needle in person.needles():
                for row in conn.execute(select(table).where(func.lower(column).contains(needle))):
                    value = row._mapping[column.name]
                    if value and person.mentioned_in(str(value)):
                        item = {k: _plain(v) for k, v in row._mapping.items()}
                        if item not in found.setdefault(table.name, []):
                            found[table.name].append(item)
    return found


def _export_trackers(databases: PrivacyDatabases, person: _Person,
                     conversations: set[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    url = databases.tracker_url
    try:
        with _engine(url) as engine, engine.connect() as conn:
            events = _events_table(conn)
            if events is None:
                return out
            wanted = set(conversations) | _tracker_mentions(conn, events, person)
            for chunk in _chunks(wanted):
                for sender, data in conn.execute(
                    select(events.c.sender_id, events.c.data)
                    .where(events.c.sender_id.in_(chunk)).order_by(events.c.id)
                ):
                    try:
                        parsed = json.loads(data)
                    except (TypeError, ValueError):
                        parsed = {"unreadable": True}
                    out.setdefault(str(sender), []).append(_unseal_all(parsed))
    except SQLAlchemyError as exc:
        raise _wrap(url, exc) from exc
    return out


# --------------------------------------------------------------------------- forget


def forget_customer(databases: PrivacyDatabases, email: str) -> ForgetReport:
    """Erase the customer with this address: see the module docstring. Idempotent."""
    store_url = databases.store_url
    try:
        with _engine(store_url) as engine, engine.connect() as conn:
            person = _find_person(conn, email)
            if person is None:
                logger.info("forget: no customer with that address; nothing to do")
                return ForgetReport(found=False)
            conversations = _store_conversations(conn, person.customer_id)
            order_ids = list(conn.execute(
                select(Order.id).where(Order.customer_id == person.customer_id)).scalars())
    except SQLAlchemyError as exc:
        raise _wrap(store_url, exc) from exc
    report = ForgetReport(found=True, customer_id=person.customer_id)

    # Conversations first (while the store still names them), the store's rows last: a run
    # that stops half-way is simply run again.
    try:
        with _engine(databases.tracker_url) as engine, engine.connect() as conn:
            events = _events_table(conn)
            if events is not None:
                conversations |= _tracker_mentions(conn, events, person)
    except SQLAlchemyError as exc:
        raise _wrap(databases.tracker_url, exc) from exc
    report.conversations = len(conversations)
    for url in databases.all_urls():
        _erase_conversations(url, conversations, person, report,
                             skip_store_tables=(url == store_url))
    _anonymise_store(store_url, person, conversations, order_ids, report)
    for url in databases.all_urls():
        _redact_everywhere(url, person, report)
    logger.info(
        "forget: customer %s anonymised; %d conversations erased; deleted %s; anonymised %s; "
        "text redacted in %s", person.customer_id, report.conversations,
        report.rows_deleted or "nothing", report.rows_anonymised or "nothing",
        report.text_redacted or "nothing",
    )
    return report


def _erase_conversations(url: str, conversations: set[str], person: _Person,
                         report: ForgetReport, *, skip_store_tables: bool) -> None:
    """Delete every row of these conversations in every table with a conversation column."""
    if not conversations:
        return
    try:
        with _engine(url) as engine, engine.begin() as conn:
            for table in reversed(_reflect(conn)):
                if skip_store_tables and table.name in STORE_TABLES:
                    continue
                for name in CONVERSATION_COLUMNS:
                    if name not in table.c:
                        continue
                    for chunk in _chunks(conversations):
                        n = conn.execute(delete(table).where(table.c[name].in_(chunk))).rowcount
                        report.count(report.rows_deleted, table.name, int(n or 0))
    except SQLAlchemyError as exc:
        raise _wrap(url, exc) from exc


def _anonymise_store(url: str, person: _Person, conversations: set[str],
                     order_ids: list[int], report: ForgetReport) -> None:
    cid = person.customer_id
    conv = list(conversations) or ["\x00none"]
    try:
        with _engine(url) as engine, engine.begin() as conn:
            n = conn.execute(delete(Interaction.__table__).where(
                (Interaction.customer_id == cid) | Interaction.conversation_id.in_(conv)
            )).rowcount
            report.count(report.rows_deleted, "interactions", int(n or 0))
            n = conn.execute(delete(CsatFeedback.__table__).where(
                (CsatFeedback.customer_id == cid) | CsatFeedback.conversation_id.in_(conv)
            )).rowcount
            report.count(report.rows_deleted, "csat_feedback", int(n or 0))
            n = conn.execute(delete(FailedVerification.__table__).where(
                FailedVerification.conversation_id.in_(conv))).rowcount
            report.count(report.rows_deleted, "failed_verifications", int(n or 0))
            case_filter = ((SupportCase.customer_id == cid)
                           | SupportCase.conversation_id.in_(conv)
                           | SupportCase.order_id.in_(order_ids or [-1]))
            report.slack_threads += int(conn.execute(
                select(func.count()).select_from(SupportCase)
                .where(case_filter, SupportCase.slack_thread_ts.isnot(None))).scalar_one())
            n = conn.execute(update(SupportCase.__table__).where(case_filter).values(
                subject=REMOVED, resolution=None, conversation_id=None)).rowcount
            report.count(report.rows_anonymised, "support_cases", int(n or 0))
            if order_ids:
                n = conn.execute(update(Return.__table__).where(Return.order_id.in_(order_ids))
                                 .values(reason=REMOVED)).rowcount
                report.count(report.rows_anonymised, "returns", int(n or 0))
                n = conn.execute(update(Order.__table__).where(Order.id.in_(order_ids))
                                 .values(shipping_address=REMOVED)).rowcount
                report.count(report.rows_anonymised, "orders", int(n or 0))
            conn.execute(update(Customer.__table__).where(Customer.id == cid).values(
                name=FORGOTTEN_NAME, email=f"forgotten-{cid}@forgotten.invalid", phone=None))
            report.count(report.rows_anonymised, "customers", 1)
    except SQLAlchemyError as exc:
        raise _wrap(url, exc) from exc


def _redact_everywhere(url: str, person: _Person, report: ForgetReport) -> None:
    """Replace the address and the full name wherever they are left, in any text column."""
    patterns = person.patterns()
    try:
        with _engine(url) as engine, engine.begin() as conn:
            for table in _reflect(conn):
                if table.name == Customer.__tablename__:
                    continue  # other customers' rows; this customer's was anonymised by id
                key = _primary_key(table)
                if key is None:
                    continue
                for column in _text_columns(table):
                    if column is key:
                        continue
                    for needle in person.needles():
                        rows = conn.execute(select(key, column).where(
                            func.lower(column).contains(needle))).all()
                        for row_key, value in rows:
                            if value is None:
                                continue
                            text = str(value)
                            for pattern, placeholder in patterns:
                                text = pattern.sub(placeholder, text)
                            if text != value:
                                conn.execute(update(table).where(key == row_key)
                                             .values({column.name: text}))
                                report.count(report.text_redacted, table.name, 1)
    except SQLAlchemyError as exc:
        raise _wrap(url, exc) from exc


# --------------------------------------------------------------------------- purge


def parse_age(text: str) -> timedelta:
    """'180d', '26w', '12h' -> a timedelta (at least one hour)."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*([hdw])\s*", text or "")
    if not match:
        raise InvalidInput(f"{text!r} is not an age like 180d, 26w or 12h")
    amount, unit = int(match.group(1)), match.group(2)
    age = {"h": timedelta(hours=amount), "d": timedelta(days=amount),
           "w": timedelta(weeks=amount)}[unit]
    if age < timedelta(hours=1):
        raise InvalidInput("the age must be at least 1h")
    return age


def purge_older_than(databases: PrivacyDatabases, age: timedelta,
                     now: datetime | None = None) -> PurgeReport:
    """Remove conversations whose last event is older than `age`, and older CRM history."""
    cutoff = (now or datetime.now(timezone.utc)) - age
    report = PurgeReport(cutoff=cutoff)
    url = databases.tracker_url
    old: set[str] = set()
    try:
        with _engine(url) as engine, engine.begin() as conn:
            events = _events_table(conn)
            if events is not None and "timestamp" in events.c:
                old = {str(s) for s in conn.execute(
                    select(events.c.sender_id).group_by(events.c.sender_id)
                    .having(func.max(events.c.timestamp) < cutoff.timestamp())).scalars()}
                for chunk in _chunks(old):
                    n = conn.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount
                    report.tracker_events += int(n or 0)
    except SQLAlchemyError as exc:
        raise _wrap(url, exc) from exc
    report.conversations = len(old)
    try:
        with _engine(databases.store_url) as engine, engine.begin() as conn:
            for model in (Interaction, FailedVerification):
                table = model.__table__
                n = conn.execute(delete(table).where(
                    table.c.created_at < bindparam("cutoff", type_=table.c.created_at.type)),
                    {"cutoff": cutoff}).rowcount
                if n:
                    report.rows_deleted[table.name] = int(n)
    except SQLAlchemyError as exc:
        raise _wrap(databases.store_url, exc) from exc
    logger.info("purge: %d conversations (%d events) and %s older than %s removed",
                report.conversations, report.tracker_events, report.rows_deleted or "no rows",
                cutoff.date().isoformat())
    return report


def conversation_ids_in(databases: PrivacyDatabases, email: str) -> Sequence[str]:
    """The conversations `forget` would erase for this address (for dry runs and tests)."""
    with _engine(databases.store_url) as engine, engine.connect() as conn:
        person = _find_person(conn, email)
        if person is None:
            return []
        found = _store_conversations(conn, person.customer_id)
    with _engine(databases.tracker_url) as engine, engine.connect() as conn:
        events = _events_table(conn)
        if events is not None:
            found |= _tracker_mentions(conn, events, person)
    return sorted(found)
