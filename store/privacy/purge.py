"""Ageing old conversations out: tracker events of conversations whose last event is older than
a cutoff, and the store's interactions and failed verifications older than it."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from store.errors import InvalidInput
from store.models import FailedVerification, Interaction
from store.privacy.databases import PrivacyDatabases, PurgeReport, chunks, open_engine, wrap_error
from store.privacy.person import events_table

logger = logging.getLogger(__name__)


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
        with open_engine(url) as engine, engine.begin() as conn:
            events = events_table(conn)
            if events is not None and "timestamp" in events.c:
                old = {str(s) for s in conn.execute(
                    select(events.c.sender_id).group_by(events.c.sender_id)
                    .having(func.max(events.c.timestamp) < cutoff.timestamp())).scalars()}
                for chunk in chunks(old):
                    n = conn.execute(delete(events).where(events.c.sender_id.in_(chunk))).rowcount
                    report.tracker_events += int(n or 0)
    except SQLAlchemyError as exc:
        raise wrap_error(url, exc) from exc
    report.conversations = len(old)
    try:
        with open_engine(databases.store_url) as engine, engine.begin() as conn:
            for model in (Interaction, FailedVerification):
                table = model.__table__
                n = conn.execute(delete(table).where(
                    table.c.created_at < bindparam("cutoff", type_=table.c.created_at.type)),
                    {"cutoff": cutoff}).rowcount
                if n:
                    report.rows_deleted[table.name] = int(n)
    except SQLAlchemyError as exc:
        raise wrap_error(databases.store_url, exc) from exc
    logger.info("purge: %d conversations (%d events) and %s older than %s removed",
                report.conversations, report.tracker_events, report.rows_deleted or "no rows",
                cutoff.date().isoformat())
    return report
