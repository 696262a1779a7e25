"""Does the analytics consumer slow the action server's store writes when both use SQLite?

    python -m bench.analytics_contention [--writes 400] [--rate 150]

One process writes to the order store the way the action server does (record_interaction,
BEGIN IMMEDIATE, one row per call) and times every write. Another process runs the analytics
consumer's writer on crafted conversations at `rate` events per second (the REST channel's
ceiling of about 11 turns/s is roughly 130-150 events/s). Three runs:
- the store alone;
- the consumer writing its tables into the store's SQLite file;
- the consumer writing its own SQLite file (var/analytics.db, the default).

Prints a table and writes reports/analytics_contention.md. The load average is recorded.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analytics.db import make_engine
from analytics.events import compact
from analytics.ingest import FactWriter
from analytics.migrate import upgrade as analytics_upgrade
from store.migrate import upgrade as store_upgrade
from store.repository import OrderStore
from tests.analytics.crafted import conversations

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "analytics_contention.md"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _consumer(url: str, rate: float, stop: Any, counter: Any) -> None:
    writer = FactWriter(make_engine(url))
    template = [e for s in conversations().values() for e in s.events]
    batch, index = 25, 0
    interval = batch / rate
    while not stop.is_set():
        started = time.monotonic()
        events = []
        for raw in template[index % len(template):][:batch]:
            events.append(compact({**raw, "sender_id": f"{raw['sender_id']}-{index // 400}"}))
        index += batch
        writer.ingest(events)
        counter.value += len(events)
        time.sleep(max(0.0, interval - (time.monotonic() - started)))


def _store_writes(url: str, writes: int) -> list[float]:
    store = OrderStore.from_url(url)
    latencies = []
    for n in range(writes):
        started = time.perf_counter()
        store.record_interaction(conversation_id=f"bench-{n % 50}", channel="chat",
                                 direction="in", text="where is my order?")
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    return latencies


def run_case(name: str, store_url: str, analytics_url: str | None, writes: int,
             rate: float) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    stop, counter = ctx.Event(), ctx.Value("i", 0)
    consumer = None
    if analytics_url:
        consumer = ctx.Process(target=_consumer, args=(analytics_url, rate, stop, counter))
        consumer.start()
        time.sleep(3.0)  # imports and the first batches
    started_events = counter.value
    started = time.monotonic()
    latencies = _store_writes(store_url, writes)
    elapsed = time.monotonic() - started
    events = counter.value - started_events
    stop.set()
    if consumer is not None:
        consumer.join(30)
    return {"case": name, "writes": len(latencies), "p50": statistics.median(latencies),
            "p95": _percentile(latencies, 95), "p99": _percentile(latencies, 99),
            "max": max(latencies), "events_per_s": events / elapsed if analytics_url else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--writes", type=int, default=400)
    parser.add_argument("--rate", type=float, default=150.0, help="events per second")
    parser.add_argument("--out", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, shared in (("store alone", None), ("consumer in the store's file", True),
                             ("consumer in its own file", False)):
            folder = Path(tmp) / name.replace(" ", "_").replace("'", "")
            folder.mkdir()
            store_url = f"sqlite:///{folder / 'store.db'}"
            store_upgrade(store_url)
            analytics_url = None
            if shared is not None:
                analytics_url = store_url if shared else f"sqlite:///{folder / 'analytics.db'}"
                analytics_upgrade(analytics_url)
            rows.append(run_case(name, store_url, analytics_url, args.writes, args.rate))
    load_after = os.getloadavg()
    header = ("| case | store writes | p50 ms | p95 ms | p99 ms | max ms | analytics events/s |\n"
              "|---|---|---|---|---|---|---|")
    lines = [f"| {r['case']} | {r['writes']} | {r['p50']:.2f} | {r['p95']:.2f} | "
             f"{r['p99']:.2f} | {r['max']:.1f} | {r['events_per_s']:.0f} |" for r in rows]
    table = "\n".join([header, *lines])
    print(table)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = f"""# Analytics consumer and the order store on SQLite

`python -m bench.analytics_contention --writes {args.writes} --rate {args.rate:.0f}`, {when}.
One process writes {args.writes} interactions to the order store as the action server does
(record_interaction, BEGIN IMMEDIATE, 10 ms apart) and times each write; another runs the
analytics consumer's writer at about {args.rate:.0f} events/s (the REST channel's ceiling is about
11 turns/s, roughly 130-150 events/s). SQLite in WAL mode for both. Load average
{load_before[0]:.1f} before and {load_after[0]:.1f} after (2 cores, shared with other jobs).

{table}

The default follows from this table: without `ANALYTICS_DATABASE_URL`, the analytics tables go
to their own SQLite file (var/analytics.db) unless DATABASE_URL is PostgreSQL, where they share
the database (no file lock there).
"""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
