"""Customers' data in the analytics tables: erase a customer's conversations, age old ones out.

`store forget` (customer_data.forget, with store.privacy) finds the analytics database through
`analytics.settings.privacy_database_urls` and erases every row whose `sender_id` names one of
the customer's conversations (events, conversations, turns, review marks), then redacts the
address and name in every text column. This module does the same from here, and adds the
retention the store's `purge` does not know about:

    python -m analytics.privacy purge --days 180     # conversations that ended before then
    python -m analytics.privacy forget SENDER_ID ...
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from analytics import db
from analytics.db import get_engine
from analytics.settings import AnalyticsError

_CHUNK = 400
_TABLES = (db.review_marks, db.turns, db.conversations, db.events)


@dataclass(frozen=True)
class ErasedRows:
    senders: int
    rows: dict[str, int]


def forget_senders(engine: Engine, senders: Iterable[str]) -> ErasedRows:
    """Delete every analytics row of these senders (conversation ids in Rasa's sense)."""
    wanted = sorted({s for s in senders if s})
    counts = {table.name: 0 for table in _TABLES}
    with db.transaction(engine, write=True) as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            for table in _TABLES:
                n = conn.execute(delete(table).where(table.c.sender_id.in_(chunk))).rowcount
                counts[table.name] += int(n or 0)
    return ErasedRows(len(wanted), counts)


def purge_before(engine: Engine, cutoff: float) -> ErasedRows:
    """Erase the senders whose last event is older than `cutoff` (UNIX seconds)."""
    e = db.events.c
    with db.transaction(engine) as conn:
        old = [s for (s,) in conn.execute(
            select(e.sender_id).group_by(e.sender_id).having(func.max(e.ts) < cutoff))]
    return forget_senders(engine, old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Erase customers' data from the analytics.")
    sub = parser.add_subparsers(dest="command", required=True)
    purge = sub.add_parser("purge", help="erase conversations older than --days")
    purge.add_argument("--days", type=int, required=True)
    forget = sub.add_parser("forget", help="erase these senders' conversations")
    forget.add_argument("senders", nargs="+")
    args = parser.parse_args(argv)
    try:
        engine = get_engine()
        if args.command == "purge":
            if args.days < 1:
                parser.error("--days must be at least 1")
            result = purge_before(engine, time.time() - args.days * 86_400)
        else:
            result = forget_senders(engine, args.senders)
    except AnalyticsError as exc:
        print(f"analytics privacy: {exc}")
        return 1
    print(f"analytics privacy: {result.senders} senders erased; rows {result.rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
