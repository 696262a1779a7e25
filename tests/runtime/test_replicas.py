"""Two Rasa servers behind HAProxy sharing the Redis lock store and a PostgreSQL tracker and
order store (the real servers on 127.0.0.1): one replica SIGKILLed under load, the balancer
moves its customers on, every conversation completes, and each message is stored once."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nordvik.text import redact_emails
from tests.store.pg import fresh_pg_database
from tests.support.services import unavailable
from tests.support.store import ORDERS, make_test_store
from tests.support.supervised import StackSpec, SupervisedStack, supervised_stack

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/0"
CUSTOMERS = 6
CONVERSATIONS = 2


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory,
             runtime_model: Path) -> Iterator[SupervisedStack]:
    if not _redis_up():
        unavailable("no Redis server on 127.0.0.1:6379")
    with fresh_pg_database() as database_url:
        make_test_store(database_url).engine.dispose()
        env = {"DATABASE_URL": database_url, "REDIS_URL": REDIS_URL,
               "RASA_LOCK_PREFIX": f"replicas{uuid.uuid4().hex[:8]}",
               "TICKET_LOCK_LIFETIME": "15", "RATE_CLIENT_MESSAGES": "0"}
        spec = StackSpec(run_dir=tmp_path_factory.mktemp("replicas") / "run", model=runtime_model,
                         env=env, rasa_replicas=2)
        with supervised_stack(spec) as stack:
            yield stack


def test_a_replica_killed_under_load(replicas: SupervisedStack) -> None:
    orders = list(ORDERS.values())
    sent: dict[str, list[str]] = {}
    finished: dict[str, str] = {}
    failures: list[str] = []
    lock = threading.Lock()
    halfway = threading.Event()
    turns = [0]

    def customer(index: int) -> None:
        for n in range(CONVERSATIONS):
            order = orders[(index + n) % len(orders)]
            sender = f"replica-{index}-{n}"
            last: list[dict[str, Any]] = []
            for message in ("where is my order?", order.number, order.email):
                with lock:
                    sent.setdefault(sender, []).append(message)
                try:
                    last = replicas.say(sender, message, timeout=90)
                except OSError as error:  # HTTPError included: no 5xx may reach a customer
                    with lock:
                        failures.append(f"{sender} {message!r}: {error}")
                    return
                with lock:
                    turns[0] += 1
                    if turns[0] >= CUSTOMERS:
                        halfway.set()
                time.sleep(0.2)
            finished[sender] = " ".join(str(r.get("text") or "") for r in last)

    threads = [threading.Thread(target=customer, args=(i,)) for i in range(CUSTOMERS)]
    for thread in threads:
        thread.start()
    assert halfway.wait(timeout=120), "the customers did not get going"
    killed = replicas.kill("rasa_0")
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures
    assert len(finished) == CUSTOMERS * CONVERSATIONS
    for sender, reply in finished.items():
        number = next(m for m in sent[sender] if m.startswith("A"))
        assert number in reply, (sender, reply)
    for sender, messages in sent.items():  # addresses masked by the tracker store
        assert replicas.user_events(sender) == [redact_emails(m) for m in messages], sender
    assert "exited: rasa_0 (terminated by SIGKILL" in (
        replicas.spec.run_dir / "supervisord.log").read_text()
    assert killed != replicas.pid("rasa_0")  # supervisord started it again
