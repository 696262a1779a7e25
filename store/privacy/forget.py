"""Erasing a customer (GDPR art. 17): their conversations everywhere, their interactions and CSAT
answers deleted, their customer row, cases, returns and orders anonymised, and any remaining
occurrence of their address or full name replaced in every text column (store.privacy)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from store.models import (
    CsatFeedback,
    Customer,
    FailedVerification,
    Interaction,
    Order,
    Return,
    SupportCase,
)
from store.privacy.databases import (
    CONVERSATION_COLUMNS,
    STORE_TABLES,
    ForgetReport,
    PrivacyDatabases,
    chunks,
    open_engine,
    primary_key,
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
)

logger = logging.getLogger(__name__)

REMOVED = "[removed]"
FORGOTTEN_NAME = "[forgotten]"


def forget_customer(databases: PrivacyDatabases, email: str) -> ForgetReport:
    """Erase the customer with this address: see the module docstring. Idempotent."""
    store_url = databases.store_url
    try:
        with open_engine(store_url) as engine, engine.connect() as conn:
            person = find_person(conn, email)
            if person is None:
                logger.info("forget: no customer with that address; nothing to do")
                return ForgetReport(found=False)
            conversations = store_conversations(conn, person.customer_id)
            order_ids = list(conn.execute(
                select(Order.id).where(Order.customer_id == person.customer_id)).scalars())
    except SQLAlchemyError as exc:
        raise wrap_error(store_url, exc) from exc
    report = ForgetReport(found=True, customer_id=person.customer_id)

    # Conversations first (while the store still names them), the store's rows last: a run
    # that stops half-way is simply run again.
    try:
        with open_engine(databases.tracker_url) as engine, engine.connect() as conn:
            events = events_table(conn)
            if events is not None:
                conversations |= tracker_mentions(conn, events, person)
    except SQLAlchemyError as exc:
        raise wrap_error(databases.tracker_url, exc) from exc
    report.conversations = len(conversations)
    for url in databases.all_urls():
        _erase_conversations(url, conversations, report, skip_store_tables=(url == store_url))
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


def conversation_ids_in(databases: PrivacyDatabases, email: str) -> Sequence[str]:
    """The conversations `forget` would erase for this address (for dry runs and tests)."""
    with open_engine(databases.store_url) as engine, engine.connect() as conn:
        person = find_person(conn, email)
        if person is None:
            return []
        found = store_conversations(conn, person.customer_id)
    with open_engine(databases.tracker_url) as engine, engine.connect() as conn:
        events = events_table(conn)
        if events is not None:
            found |= tracker_mentions(conn, events, person)
    return sorted(found)


def _erase_conversations(url: str, conversations: set[str], report: ForgetReport, *,
                         skip_store_tables: bool) -> None:
    """Delete every row of these conversations in every table with a conversation column."""
    if not conversations:
        return
    try:
        with open_engine(url) as engine, engine.begin() as conn:
            for table in reversed(reflect(conn)):
                if skip_store_tables and table.name in STORE_TABLES:
                    continue
                for name in CONVERSATION_COLUMNS:
                    if name not in table.c:
                        continue
                    for chunk in chunks(conversations):
                        n = conn.execute(delete(table).where(table.c[name].in_(chunk))).rowcount
                        report.count(report.rows_deleted, table.name, int(n or 0))
    except SQLAlchemyError as exc:
        raise wrap_error(url, exc) from exc


def _anonymise_store(url: str, person: Person, conversations: set[str],
                     order_ids: list[int], report: ForgetReport) -> None:
    cid = person.customer_id
    conv = list(conversations) or ["\x00none"]
    try:
        with open_engine(url) as engine, engine.begin() as conn:
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
        raise wrap_error(url, exc) from exc


def _redact_everywhere(url: str, person: Person, report: ForgetReport) -> None:
    """Replace the address and the full name wherever they are left, in any text column."""
    patterns = person.patterns()
    try:
        with open_engine(url) as engine, engine.begin() as conn:
            for table in reflect(conn):
                if table.name == Customer.__tablename__:
                    continue  # other customers' rows; this customer's was anonymised by id
                key = primary_key(table)
                if key is None:
                    continue
                for column in text_columns(table):
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
        raise wrap_error(url, exc) from exc
