"""The analytics consumer: Rasa's event stream into facts.

    python -m analytics.consumer           # runs until SIGTERM / Ctrl-C (`make run` starts it)
    python -m analytics.consumer --once    # SQL broker only: ingest what is there, then exit

Two sources, chosen by the settings (analytics/settings.py):
- `SqlBrokerTail` (embedded default): reads the `events` table that Rasa's SQL event broker
  writes into a SQLite file, in row-id order from the last offset, which is stored with the
  facts in the same transaction.
- `RabbitConsumer` (`RABBITMQ_URL`): consumes the durable queue bound to Rasa's fanout
  exchange; a batch is acknowledged only after its facts are committed, so a crash means
  redelivery, and redelivered events are recognised by their keys and counted once.

A message that is not a Rasa event is kept in `analytics_rejected` (with the reason) and not
retried. Logs carry counts only, never message contents.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from analytics.db import AnalyticsUnavailable, get_engine
from analytics.events import BadEvent, EventRecord, compact, parse_message
from analytics.ingest import FactWriter, IngestResult
from analytics.migrate import upgrade
from analytics.settings import AnalyticsError, AnalyticsSettings, RabbitSettings

logger = logging.getLogger(__name__)


def _records(writer: FactWriter, source: str, bodies: Sequence[bytes | str]) -> list[EventRecord]:
    records: list[EventRecord] = []
    for body in bodies:
        try:
            records.append(compact(parse_message(body)))
        except BadEvent as exc:
            writer.reject(source, str(exc), body)
    return records


class SqlBrokerTail:
    """Follows the SQL event broker's `events` table (SQLite) by row id."""

    def __init__(self, events_db: Path, writer: FactWriter, *, batch_size: int = 500) -> None:
        self.events_db = events_db
        self.writer = writer
        self.batch_size = batch_size
        self.source = f"sql-broker:{events_db}"
        self._wal_checked = False

    def _connect(self) -> sqlite3.Connection | None:
        if not self.events_db.exists():
            return None
        if not self._wal_checked:
            self._wal_checked = True
            self._use_wal()
        uri = f"file:{self.events_db}?mode=ro"
        conn = sqlite3.connect(uri, uri=True, timeout=10)
        return conn

    def _use_wal(self) -> None:
        """WAL lets this reader and Rasa's writer work at once (the mode stays in the file)."""
        try:
            conn = sqlite3.connect(str(self.events_db), timeout=2)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()
        except sqlite3.Error:
            logger.info("the event broker's SQLite file stays in its journal mode")

    def poll_once(self) -> IngestResult | None:
        """Ingest the next batch of rows; None when there was nothing new."""
        conn = self._connect()
        if conn is None:
            return None
        offset = self.writer.offset(self.source)
        try:
            try:
                rows = conn.execute(
                    "SELECT id, data FROM events WHERE id > ? ORDER BY id LIMIT ?",
                    (offset, self.batch_size),
                ).fetchall()
                if not rows and offset:
                    newest = conn.execute("SELECT max(id) FROM events").fetchone()[0]
                    if newest is None or newest < offset:
                        # the broker file was replaced: start again (keys skip what we have)
                        logger.warning("the event broker's table restarted below offset %s; "
                                       "reading it from the start", offset)
                        offset = 0
                        rows = conn.execute(
                            "SELECT id, data FROM events WHERE id > 0 ORDER BY id LIMIT ?",
                            (self.batch_size,),
                        ).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return None  # Rasa has not created its table yet
                raise
        finally:
            conn.close()
        if not rows:
            return None
        records = _records(self.writer, self.source, [str(data or "") for _, data in rows])
        return self.writer.ingest(records, source=self.source, position=int(rows[-1][0]))

    def drain(self) -> int:
        """Ingest until nothing is left; the number of events read."""
        total = 0
        while (result := self.poll_once()) is not None:
            total += result.received
        return total

    async def run(self, stop: asyncio.Event, poll_seconds: float) -> None:
        logger.info("analytics consumer: following the SQL event broker")
        while not stop.is_set():
            try:
                result = await asyncio.to_thread(self.poll_once)
            except (AnalyticsUnavailable, sqlite3.Error) as exc:
                logger.error("analytics consumer: %s; retrying", type(exc).__name__)
                result = None
                await _sleep(stop, max(poll_seconds, 2.0))
                continue
            if result is None or result.received < self.batch_size:
                await _sleep(stop, poll_seconds)


class RabbitConsumer:
    """Consumes the analytics queue bound to Rasa's fanout exchange."""

    def __init__(self, rabbit: RabbitSettings, writer: FactWriter, *,
                 batch_size: int = 500, flush_seconds: float = 0.5) -> None:
        self.rabbit = rabbit
        self.writer = writer
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.source = f"rabbitmq:{rabbit.queue}"
        self.ready = asyncio.Event()

    def connection_url(self) -> str:
        scheme = "amqps" if self.rabbit.url.startswith("amqps") else "amqp"
        return (f"{scheme}://{quote(self.rabbit.username, safe='')}:"
                f"{quote(self.rabbit.password, safe='')}@{self.rabbit.host}:{self.rabbit.port}/"
                f"{quote(self.rabbit.vhost, safe='')}")

    async def declare(self, channel: Any) -> Any:
        """The same exchange and queue Rasa's PikaEventBroker declares, bound together."""
        import aio_pika  # noqa: PLC0415 - optional: only the RABBITMQ_URL source needs it

        exchange = await channel.declare_exchange(self.rabbit.exchange,
                                                  type=aio_pika.ExchangeType.FANOUT)
        queue = await channel.declare_queue(self.rabbit.queue, durable=True)
        await queue.bind(exchange, "")
        return queue

    async def run(self, stop: asyncio.Event) -> None:
        import aio_pika  # noqa: PLC0415 - optional: only the RABBITMQ_URL source needs it

        connection = await aio_pika.connect_robust(self.connection_url())
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch_size)
            queue = await self.declare(channel)
            inbox: asyncio.Queue[Any] = asyncio.Queue()
            tag = await queue.consume(inbox.put)
            logger.info("analytics consumer: consuming RabbitMQ queue %s", self.rabbit.queue)
            self.ready.set()
            while not stop.is_set():
                batch = await self._collect(inbox, stop)
                if batch:
                    await self._handle(batch)
            await queue.cancel(tag)
        finally:
            await connection.close()

    async def _collect(self, inbox: asyncio.Queue[Any], stop: asyncio.Event) -> list[Any]:
        try:
            first = await asyncio.wait_for(inbox.get(), timeout=self.flush_seconds)
        except asyncio.TimeoutError:
            return []
        batch = [first]
        deadline = time.monotonic() + self.flush_seconds
        while len(batch) < self.batch_size and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(inbox.get(), timeout=remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _handle(self, batch: list[Any]) -> None:
        bodies = [bytes(message.body) for message in batch]
        try:
            await asyncio.to_thread(self._ingest, bodies)
        except AnalyticsError:
            logger.exception("analytics consumer: %s messages not stored; they go back to the "
                             "queue", len(batch))
            for message in batch:
                await message.nack(requeue=True)
            await asyncio.sleep(2.0)
            return
        for message in batch:
            await message.ack()

    def _ingest(self, bodies: list[bytes]) -> IngestResult:
        return self.writer.ingest(_records(self.writer, self.source, bodies))


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def run(settings: AnalyticsSettings, stop: asyncio.Event) -> None:
    writer = FactWriter(get_engine(settings))
    if settings.rabbit is not None:
        while not stop.is_set():
            try:
                await RabbitConsumer(settings.rabbit, writer,
                                     batch_size=settings.batch_size).run(stop)
            except (OSError, ConnectionError) as exc:
                logger.error("analytics consumer: RabbitMQ unreachable (%s); retrying",
                             type(exc).__name__)
                await _sleep(stop, 5.0)
            except Exception as exc:  # aio-pika's AMQP errors have no common base we import
                if type(exc).__module__.split(".")[0] not in ("aiormq", "aio_pika", "pamqp"):
                    raise
                logger.error("analytics consumer: RabbitMQ error %s; reconnecting",
                             type(exc).__name__)
                await _sleep(stop, 5.0)
        return
    await SqlBrokerTail(settings.events_db, writer,
                        batch_size=settings.batch_size).run(stop, settings.poll_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rasa's event stream into analytics facts.")
    parser.add_argument("--once", action="store_true",
                        help="SQL broker: ingest what is there now, then exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = AnalyticsSettings.from_env()
        upgrade(settings.database_url)
        FactWriter(get_engine(settings)).ensure_current_facts()
    except AnalyticsError as exc:
        print(f"analytics consumer: {exc}")
        return 1
    if args.once:
        if settings.rabbit is not None:
            print("analytics consumer: --once reads the SQL broker; unset RABBITMQ_URL")
            return 2
        count = SqlBrokerTail(settings.events_db, FactWriter(get_engine(settings)),
                              batch_size=settings.batch_size).drain()
        print(f"analytics consumer: read {count} events")
        return 0

    async def _main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run(settings, stop)

    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
