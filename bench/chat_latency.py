"""`make bench-chat`: per-turn latency and throughput of the bot through the REST channel.

N concurrent simulated customers (default 1, 10 and 50) each hold realistic conversations:
a greeting, FAQ questions, an order-status check (order number, then the e-mail of a seeded
order) and a goodbye. Every customer message is one timed turn (POST /webhooks/rest/webhook
until the bot's replies arrive).

By default the script starts its own action server and Rasa server on free loopback ports, with
a fresh order store holding the test orders (tests/support/store.py). With `--url` it uses
running servers instead (e.g. `make run`), taking sample orders from the store at DATABASE_URL.
Prints a markdown table and writes reports/chat_latency.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "chat_latency.md"

FAQ_QUESTIONS = [
    "how long does shipping take?",
    "do you ship to taiwan?",
    "what is your return policy",
    "when will I get my refund",
    "can I pay with klarna?",
    "is there a warranty on headphones",
    "I forgot my password",
    "what are your opening hours",
    "my vase arrived broken",
    "how long is a gift card valid",
]


@dataclass(frozen=True)
class LevelResult:
    users: int
    conversations: int
    turns: int
    errors: int
    wrong_answers: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    throughput: float
    seconds: float


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def conversation(rng: random.Random, order: tuple[str, str, str]) -> list[tuple[str, str | None]]:
    """(message, text the reply must contain or None)."""
    number, email, _status = order
    return [
        ("hi", "Nordvik"),
        (rng.choice(FAQ_QUESTIONS), None),
        ("where is my order?", "order number"),
        (number, "e-mail"),
        (email, number),
        (rng.choice(FAQ_QUESTIONS), None),
        ("bye", None),
    ]


async def customer(
    session: aiohttp.ClientSession, rest_url: str, user: int, conversations: int,
    orders: Sequence[tuple[str, str, str]], latencies: list[float], counters: dict[str, int],
    run_id: str,
) -> None:
    rng = random.Random(user)
    for n in range(conversations):
        sender = f"bench-{run_id}-{user}-{n}"
        for message, expected in conversation(rng, orders[(user + n) % len(orders)]):
            started = time.perf_counter()
            try:
                async with session.post(rest_url, json={"sender": sender, "message": message},
                                        timeout=aiohttp.ClientTimeout(total=120)) as response:
                    body = await response.json(content_type=None)
                    ok = response.status == 200
            except (aiohttp.ClientError, asyncio.TimeoutError):
                ok, body = False, None
            latencies.append((time.perf_counter() - started) * 1000)
            if not ok:
                counters["errors"] += 1
                continue
            text = " ".join(str(r.get("text", "")) for r in body or [])
            if expected is not None and expected not in text:
                counters["wrong"] += 1


async def run_level(rest_url: str, users: int, conversations: int,
                    orders: Sequence[tuple[str, str, str]]) -> LevelResult:
    latencies: list[float] = []
    counters = {"errors": 0, "wrong": 0}
    run_id = f"{users}-{int(time.time())}"
    connector = aiohttp.TCPConnector(limit=users + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(
            customer(session, rest_url, user, conversations, orders, latencies, counters, run_id)
            for user in range(users)
        ))
        seconds = time.perf_counter() - started
    return LevelResult(
        users=users, conversations=users * conversations, turns=len(latencies),
        errors=counters["errors"], wrong_answers=counters["wrong"],
        p50_ms=statistics.median(latencies), p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99), throughput=len(latencies) / seconds, seconds=seconds,
    )


def table(results: Sequence[LevelResult]) -> str:
    lines = [
        "| concurrent customers | conversations | turns | errors | wrong replies | p50 ms | "
        "p95 ms | p99 ms | turns/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.users} | {r.conversations} | {r.turns} | {r.errors} | {r.wrong_answers} | "
            f"{r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.throughput:.1f} |"
        )
    return "\n".join(lines)


def write_report(results: Sequence[LevelResult], how: str, model: str) -> None:
    load1, load5, _ = os.getloadavg()
    text = "\n".join([
        "# Chat latency through the REST channel",
        "",
        f"Command: `{how}`. Each turn is one POST to `/webhooks/rest/webhook`; a conversation is "
        "7 turns (greeting, FAQ, \"where is my order?\", order number, e-mail, FAQ, goodbye).",
        f"Machine: {os.cpu_count()} CPU cores shared with other jobs (load average {load1:.1f} / "
        f"{load5:.1f} when the run ended), Python {platform.python_version()}; "
        f"one Rasa server and one action server; SQLite tracker and order stores; model {model}.",
        "",
        table(results),
        "",
        "\"wrong replies\": turns whose reply lacked the expected text (e.g. the order number "
        "after the e-mail).",
        "",
    ])
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")


def _sample_orders_from_store() -> list[tuple[str, str, str]]:
    import store

    return [(number, email, status)
            for status, number, email in store.get_store().sample_orders(per_status=3)]


async def bench(rest_url: str, levels: Sequence[int], conversations: int,
                orders: Sequence[tuple[str, str, str]]) -> list[LevelResult]:
    # Warm-up: the first turns load lazily initialised parts of the servers.
    await run_level(rest_url, 1, 1, orders)
    results = []
    for users in levels:
        result = await run_level(rest_url, users, conversations, orders)
        print(f"bench-chat: {users} customers done in {result.seconds:.1f} s", flush=True)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="REST channel latency with N customers")
    parser.add_argument("--levels", default="1,10,50", help="concurrent customers, comma list")
    parser.add_argument("--conversations", type=int, default=2,
                        help="conversations per customer at each level")
    parser.add_argument("--url", help="use a running Rasa server (e.g. http://127.0.0.1:5005)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    how = "python -m bench.chat_latency " + " ".join(argv if argv is not None else sys.argv[1:])

    if args.url:
        orders = _sample_orders_from_store()
        rest_url = args.url.rstrip("/") + "/webhooks/rest/webhook"
        results = asyncio.run(bench(rest_url, levels, args.conversations, orders))
        model = "(running server)"
    else:
        from scripts.train import ensure_model
        from tests.support.rasa_stack import start_rasa_stack
        from tests.support.store import ORDERS, make_test_store, sqlite_url

        model_path = ensure_model().model
        with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
            crm = make_test_store(sqlite_url(Path(tmp) / "store.db"))
            orders = [(o.number, o.email, o.status) for o in ORDERS.values()]
            print("bench-chat: starting the action server and the Rasa server", flush=True)
            with start_rasa_stack(Path(tmp), str(crm.engine.url), model=model_path) as stack:
                results = asyncio.run(bench(stack.rest_url, levels, args.conversations, orders))
        model = model_path.name
    print(table(results))
    write_report(results, how.strip(), model)
    print(f"bench-chat: wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
