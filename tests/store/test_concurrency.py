"""Several processes share the store (action server, Slack app): concurrent writers stay correct.

Each worker has its own engine, as separate processes would; a barrier starts them together.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from store.db import make_engine
from store.repository import OrderStore
from tests.store.factories import ANNA, TODAY

T = TypeVar("T")
WORKERS = 6


def _race(database_url: str, work: Callable[[OrderStore], T]) -> list[T]:
    stores = [OrderStore(make_engine(database_url), today=lambda: TODAY) for _ in range(WORKERS)]
    barrier = threading.Barrier(WORKERS)
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(store: OrderStore) -> None:
        barrier.wait()
        try:
            value = work(store)
        except BaseException as exc:  # collected and asserted below
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(value)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for s in stores:
        s.engine.dispose()
    assert errors == []
    return results


def test_concurrent_cancels_cancel_once(store: OrderStore, database_url: str) -> None:
    outcomes = _race(database_url, lambda s: s.cancel_order("A10003", ANNA).outcome)
    assert Counter(outcomes) == {"cancelled": 1, "already_cancelled": WORKERS - 1}


def test_concurrent_returns_open_one_return(store: OrderStore, database_url: str) -> None:
    results = _race(
        database_url,
        lambda s: s.start_return("A10001", ANNA, reason="too small", conversation_id="c"),
    )
    assert Counter(r.outcome for r in results) == {"created": 1, "already_open": WORKERS - 1}
    assert len({(r.return_id, r.case_id) for r in results}) == 1
    order = store.get_order("A10001")
    assert order is not None and len(order.returns) == 1


def test_concurrent_interactions_are_all_kept(store: OrderStore, database_url: str) -> None:
    def chat(s: OrderStore) -> int:
        for i in range(10):
            s.record_interaction(
                conversation_id="conv-busy",
                channel="web",
                direction="in",
                text=f"turn {i}",
                order_number="A10004",
            )
        return 10

    assert sum(_race(database_url, chat)) == WORKERS * 10
    card = store.customer_card("A10004", interactions=100)
    assert card is not None and len(card.recent_interactions) == WORKERS * 10
