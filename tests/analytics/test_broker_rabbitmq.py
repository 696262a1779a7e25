"""The RabbitMQ path against the real server on 127.0.0.1:5672: Rasa's own PikaEventBroker,
built by Rasa from the endpoint config our settings generate, publishes the crafted events;
the consumer stores them. A message published twice, and messages redelivered after a consumer
died before acknowledging them, count once. Each test uses its own exchange and queue.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from analytics import db
from analytics.consumer import RabbitConsumer, _records
from analytics.ingest import FactWriter
from analytics.kpis import KpiFilter
from analytics.queries import kpi_report
from analytics.settings import RabbitSettings
from tests.analytics.crafted import TWO_WEEKS_END, TWO_WEEKS_START, all_events
from tests.support.services import unavailable

pytestmark = [pytest.mark.integration]

RABBIT_URL = os.environ.get("ANALYTICS_TEST_RABBITMQ_URL",
                            "amqp://guest:guest@127.0.0.1:5672/%2F")


@pytest.fixture()
async def rabbit() -> AsyncIterator[RabbitSettings]:
    import aio_pika

    suffix = uuid.uuid4().hex[:10]
    settings = RabbitSettings.parse(RABBIT_URL, f"nordvik_analytics_test_{suffix}",
                                    f"nordvik-test-{suffix}")
    url = RabbitConsumer(settings, None).connection_url()  # type: ignore[arg-type]
    try:
        connection = await aio_pika.connect(url, timeout=5)
    except (OSError, ConnectionError, asyncio.TimeoutError) as exc:
        unavailable(f"RabbitMQ at {settings.host}:{settings.port} is unreachable: {exc}")
    yield settings
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(settings.queue)
        await channel.exchange_delete(settings.exchange)


async def rasa_broker(settings: RabbitSettings) -> Any:
    """Rasa's PikaEventBroker, created by Rasa from our `event_broker` endpoint config."""
    import rasa.shared.core.events  # noqa: F401 - the broker uses it; the server imports it
    from rasa.core.brokers.broker import EventBroker
    from rasa.utils.endpoints import EndpointConfig

    config = settings.broker_config()
    assert config["type"] == "pika"
    broker = await EventBroker.create(EndpointConfig.from_dict(config))
    assert broker is not None and type(broker).__name__ == "PikaEventBroker"
    return broker


def stored(engine: Engine) -> int:
    with db.transaction(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(db.events)).scalar() or 0)


async def wait_for(engine: Engine, expected: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stored(engine) >= expected:
            await asyncio.sleep(1.0)  # anything beyond `expected` would arrive now
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{stored(engine)} of {expected} events stored after {timeout} s")


async def queue_depth(settings: RabbitSettings) -> int:
    import aio_pika

    url = RabbitConsumer(settings, None).connection_url()  # type: ignore[arg-type]
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(settings.queue, durable=True, passive=True)
        return int(queue.declaration_result.message_count or 0)


async def test_rasa_publishes_the_consumer_stores_and_a_duplicate_counts_once(
        rabbit: RabbitSettings, writer: FactWriter, engine: Engine) -> None:
    consumer = RabbitConsumer(rabbit, writer, batch_size=100, flush_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.ready.wait(), 15)
    broker = await rasa_broker(rabbit)
    events = all_events()
    try:
        for event in events:
            broker.publish(event)
        for event in events[10:15]:  # the same messages delivered a second time
            broker.publish(event)
        await wait_for(engine, len(events))
    finally:
        await broker.close()
        stop.set()
        await asyncio.wait_for(task, 15)
    assert stored(engine) == len(events)
    k = kpi_report(engine, KpiFilter(start=TWO_WEEKS_START, end=TWO_WEEKS_END)).total
    assert (k.conversations, k.bot_resolved, k.handoffs, k.csat_ratings) == (10, 5, 4, 3)
    assert await queue_depth(rabbit) == 0  # everything acknowledged


async def test_messages_redelivered_after_a_crash_count_once(
        rabbit: RabbitSettings, writer: FactWriter, engine: Engine) -> None:
    import aio_pika

    broker = await rasa_broker(rabbit)
    events = all_events()
    for event in events:
        broker.publish(event)
    # Rasa's broker publishes on its own connection: wait until RabbitMQ holds them all (a
    # fixed second was too short on a loaded machine), then close it.
    deadline = time.monotonic() + 30
    while await queue_depth(rabbit) < len(events) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    await broker.close()
    assert await queue_depth(rabbit) == len(events)

    # a consumer stores a batch and dies before acknowledging it
    url = RabbitConsumer(rabbit, writer).connection_url()
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    queue = await channel.declare_queue(rabbit.queue, durable=True)
    taken = []
    for _ in range(60):
        message = await queue.get(no_ack=False, fail=False, timeout=5)
        assert message is not None
        taken.append(message)
    writer.ingest(_records(writer, "test", [bytes(m.body) for m in taken]))
    assert stored(engine) == 60
    await connection.close()  # unacknowledged: RabbitMQ puts them back

    consumer = RabbitConsumer(rabbit, writer, batch_size=100, flush_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await wait_for(engine, len(events))
        deadline = time.monotonic() + 10
        while await queue_depth(rabbit) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert stored(engine) == len(events)
    assert await queue_depth(rabbit) == 0
    k = kpi_report(engine, KpiFilter(start=TWO_WEEKS_START, end=TWO_WEEKS_END)).total
    assert (k.conversations, k.customer_messages) == (10, 31)


async def test_a_message_that_is_no_event_is_kept_and_acknowledged(
        rabbit: RabbitSettings, writer: FactWriter, engine: Engine) -> None:
    import aio_pika

    consumer = RabbitConsumer(rabbit, writer, batch_size=10, flush_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.ready.wait(), 15)
    url = consumer.connection_url()
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(rabbit.exchange)
        await exchange.publish(aio_pika.Message(b"\x00 not json"), "")
        await exchange.publish(aio_pika.Message(str.encode(
            '{"sender_id": "z", "event": "user", "timestamp": 1.5, "text": "hi"}')), "")
    try:
        await wait_for(engine, 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    with db.transaction(engine) as conn:
        reasons = [r for (r,) in conn.execute(select(db.rejected.c.reason))]
    assert len(reasons) == 1 and "JSON" in reasons[0]
    assert await queue_depth(rabbit) == 0


@pytest.mark.slow
async def test_the_real_rasa_server_streams_to_rabbitmq(
        rabbit: RabbitSettings, writer: FactWriter, engine: Engine,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """`make run` with RABBITMQ_URL: the endpoints file sends Rasa's events to the queue."""
    from scripts.train import ensure_model
    from tests.support.rasa_stack import start_rasa_stack
    from tests.support.store import make_test_store, sqlite_url

    given = os.environ.get("NORDVIK_TEST_MODEL")  # an already trained model, as elsewhere
    model = Path(given) if given else await asyncio.to_thread(
        lambda: ensure_model(quiet=True).model)
    store = make_test_store(sqlite_url(tmp_path_factory.mktemp("mq-store") / "store.db"))
    env = {"RABBITMQ_URL": RABBIT_URL, "ANALYTICS_QUEUE": rabbit.queue,
           "ANALYTICS_EXCHANGE": rabbit.exchange, "KB_URL": "http://127.0.0.1:9"}
    consumer = RabbitConsumer(rabbit, writer, batch_size=100, flush_seconds=0.2)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    await asyncio.wait_for(consumer.ready.wait(), 15)
    try:
        with start_rasa_stack(tmp_path_factory.mktemp("mq-stack"), str(store.engine.url), env,
                              model=model) as stack:
            await asyncio.to_thread(stack.say, "mq-customer", "hi")
            await asyncio.to_thread(stack.say, "mq-customer", "how long does shipping take?")
            events = len((await asyncio.to_thread(stack.tracker, "mq-customer"))["events"])
            await wait_for(engine, events)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    with db.transaction(engine) as conn:
        turns = conn.execute(select(db.turns.c.text, db.turns.c.channel)
                             .order_by(db.turns.c.seq)).all()
    assert [(t.text, t.channel) for t in turns] == [
        ("hi", "rest"), ("how long does shipping take?", "rest")]
    assert stored(engine) == events
