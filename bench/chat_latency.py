"""`make bench-chat`: how many customers who think between messages one machine serves.

Three assistants in one run, one after the other on the same machine (bench/systems.py):
this tree laid out as `make run` runs it (supervisord; RASA_REPLICAS Rasa servers and
ACTION_REPLICAS action servers behind HAProxy; Redis lock store and a PostgreSQL tracker and
order store when those servers answer), the tree at the commit before the runtime work
("today": one Rasa server, `rasa run actions`, SQLite), and a plain `rasa init` assistant.

Each level runs N simulated customers for --seconds (bench/chat_customers.py: the conversation
mix in en, sv, nb and zh; exponential think time, mean --think seconds). Reported per level:
offered turns/s (N / mean think time: what the customers would send if every reply were
instant), served turns/s, p50/p95/p99 of the turn latency, errors (non-200 or no answer within
60 s), wrong replies, and lost and duplicated turns: the user messages stored in the tracker
store for each conversation against the messages sent. Capacity is the highest served turns/s
of a level whose p95 is at most 500 ms. This tree runs every level; the reference systems stop
climbing once their p95 passes 5 s at 50 customers or more.
Writes reports/chat_latency.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "chat_latency.md"
P95_TARGET_MS = 500.0
GIVE_UP_P95_MS = 5000.0
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class LevelResult:
    system: str
    customers: int
    seconds: float
    offered_tps: float
    turns: int
    served_tps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    wrong: int
    lost: int
    duplicated: int


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def capacity(results: Sequence[LevelResult]) -> float:
    """The highest served turns/s among levels with p95 <= 500 ms and no errors or lost turns
    (0 when none)."""
    return max((r.served_tps for r in results
                if r.p95_ms <= P95_TARGET_MS and r.errors == 0 and r.lost == 0), default=0.0)


def stored_user_turns(tracker_url: str, prefix: str) -> dict[str, int]:
    """sender -> user events in the SQL tracker store, for senders starting with `prefix`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(tracker_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT sender_id, count(*) FROM events WHERE type_name = 'user' "
                "AND sender_id LIKE :prefix GROUP BY sender_id"), {"prefix": prefix + "%"})
            return {str(sender): int(count) for sender, count in rows}
    finally:
        engine.dispose()


def _services_up() -> tuple[bool, bool]:
    """(PostgreSQL answers, Redis answers) on their local default ports."""
    import socket

    def answers(port: int) -> bool:
        with socket.socket() as sock:
            sock.settimeout(1)
            return sock.connect_ex(("127.0.0.1", port)) == 0

    return answers(5432), answers(6379)


class _PgDatabase:
    """A fresh PostgreSQL database for one system's run, dropped afterwards."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> str:
        self._admin("DROP DATABASE IF EXISTS {0}")
        self._admin("CREATE DATABASE {0}")
        return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + self.name

    def __exit__(self, *exc: object) -> None:
        self._admin("DROP DATABASE IF EXISTS {0} WITH (FORCE)")

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement.format(self.name)))
        finally:
            engine.dispose()


def measure_level(system: str, rest_url: str, tracker_url: str, customers: int,
                  seconds: float, think: float, orders: Sequence[tuple[str, str, str]],
                  check_replies: bool) -> LevelResult:
    from bench.chat_customers import run_load

    run_id = f"{system}-{customers}-{int(time.time())}"
    outcome = asyncio.run(run_load(rest_url, customers, seconds, think, orders, run_id,
                                   check_replies=check_replies))
    stored = stored_user_turns(tracker_url, f"bench-{run_id}-")
    lost = sum(max(0, sent - stored.get(s, 0)) for s, sent in outcome.sent.items())
    duplicated = sum(max(0, stored.get(s, 0) - sent) for s, sent in outcome.sent.items())
    latencies = outcome.latencies_ms
    if outcome.error_kinds:
        print(f"bench-chat: {system} {customers} customers, errors: {outcome.error_kinds}",
              flush=True)
    return LevelResult(
        system=system, customers=customers, seconds=outcome.seconds,
        offered_tps=customers / think, turns=len(latencies),
        served_tps=(len(latencies) - outcome.errors) / outcome.seconds if outcome.seconds
        else 0.0,  # answered turns only
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p95_ms=percentile(latencies, 95), p99_ms=percentile(latencies, 99),
        errors=outcome.errors, wrong=outcome.wrong, lost=lost, duplicated=duplicated,
    )


def run_system(key: str, levels: Sequence[int], seconds: float, think: float,
               rasa_replicas: int, action_replicas: int, work: Path,
               project_model: Path | None = None) -> tuple[list[LevelResult], str]:
    from bench import systems
    from tests.support.supervised import (
        StackSpec,
        plain_endpoints,
        project_action_argv,
        rasa_sdk_action_argv,
        supervised_stack,
    )

    if key == "project":
        prepared = systems.project(project_model)
    else:
        prepared = {"today": systems.today, "plain": systems.plain}[key]()
    run_dir = work / key
    run_dir.mkdir(parents=True)
    log = run_dir / "setup.log"
    pg_up, redis_up = _services_up()
    results: list[LevelResult] = []
    with ExitStack() as stack:
        env: dict[str, str] = {}
        if key == "project" and pg_up and redis_up:
            url = stack.enter_context(_PgDatabase(f"bench_chat_{os.getpid()}"))
            env = {"DATABASE_URL": url, "REDIS_URL": REDIS_URL,
                   "RASA_LOCK_PREFIX": f"bench{os.getpid()}"}
            layout = (f"{rasa_replicas} Rasa servers and {action_replicas} action server(s) "
                      "behind HAProxy, Redis lock store, PostgreSQL tracker and order store")
        else:
            rasa_replicas = action_replicas = 1
            store_url = f"sqlite:///{run_dir / 'store.db'}"
            env = {"DATABASE_URL": store_url}
            layout = ("one Rasa server, " + ("one action server (`rasa run actions`), "
                                             if prepared.has_actions else "no action server, ")
                      + "SQLite tracker" + (" and order store" if prepared.has_actions else ""))
        # every simulated customer comes from 127.0.0.1: the per-client message limit of the
        # customer channels (rasa_addons) would count them as one client
        env["RATE_CLIENT_MESSAGES"] = "0"
        if prepared.has_actions:
            orders = systems.seed_store(prepared, env["DATABASE_URL"], log)
        else:
            from tests.support.store import ORDERS

            orders = [(o.number, o.email, o.status) for o in ORDERS.values()]
        spec = StackSpec(
            run_dir=run_dir / "run", model=prepared.model, env=env, root=prepared.root,
            rasa_replicas=rasa_replicas if key == "project" else 1,
            action_replicas=(action_replicas if key == "project"
                             else (1 if prepared.has_actions else 0)),
            balancer=key == "project",
            action_argv=rasa_sdk_action_argv if key == "today" else project_action_argv,
            endpoints=None if key == "project" else plain_endpoints,
        )
        print(f"bench-chat: starting {prepared.title}: {layout}", flush=True)
        started = time.monotonic()
        stack_ = stack.enter_context(supervised_stack(spec))
        print(f"bench-chat: {key} up in {time.monotonic() - started:.0f} s", flush=True)
        asyncio.run(_warm_up(stack_.rest_url, orders))
        for customers in levels:
            result = measure_level(key, stack_.rest_url, stack_.tracker_url, customers, seconds,
                                   think,
                                   orders, check_replies=prepared.has_actions)
            results.append(result)
            print(f"bench-chat: {key} {customers} customers: served {result.served_tps:.1f} "
                  f"turns/s, p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, errors "
                  f"{result.errors}, lost {result.lost}", flush=True)
            if result.p95_ms > GIVE_UP_P95_MS and key != "project" and customers >= 50:
                # the references stop once saturated; this tree runs every level
                print(f"bench-chat: {key} saturated; higher levels skipped", flush=True)
                break
    return results, f"{prepared.title}, model {prepared.model.name}, commit {prepared.commit}: " \
                    f"{layout}"


async def _warm_up(rest_url: str, orders: Sequence[tuple[str, str, str]]) -> None:
    """One conversation per language, untimed: the first turns load lazily built parts."""
    from bench.chat_customers import LANGUAGES, run_load

    await run_load(rest_url, len(LANGUAGES), 12.0, 0.5, orders, f"warmup-{int(time.time())}",
                   check_replies=False)


def table(results: Sequence[LevelResult]) -> str:
    lines = [
        "| system | customers | offered turns/s | served turns/s | turns | p50 ms | p95 ms | "
        "p99 ms | errors | wrong replies | lost turns | duplicated turns |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.system} | {r.customers} | {r.offered_tps:.1f} | {r.served_tps:.1f} | "
            f"{r.turns} | {r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.errors} | "
            f"{r.wrong} | {r.lost} | {r.duplicated} |"
        )
    return "\n".join(lines)


def summary(by_system: dict[str, list[LevelResult]]) -> str:
    caps = {key: capacity(results) for key, results in by_system.items()}
    lines = ["| system | capacity (turns/s at p95 <= 500 ms) |", "|---|---|"]
    lines += [f"| {key} | {cap:.1f} |" for key, cap in caps.items()]
    project = caps.get("project")
    notes = []
    if project is not None:
        for key, label in (("today", "today's"), ("plain", "the plain assistant's")):
            if key in caps:
                if caps[key]:
                    notes.append(f"- project / {label} capacity: **{project / caps[key]:.2f}x**")
                else:
                    notes.append(f"- project / {label} capacity: not defined ({key} had no "
                                 "level with p95 <= 500 ms)")
    return "\n".join(lines + [""] + notes)


def write_report(by_system: dict[str, list[LevelResult]], layouts: dict[str, str], how: str,
                 seconds: float, think: float, load: tuple[float, float, float]) -> None:
    every = [r for results in by_system.values() for r in results]
    text = "\n".join([
        "# Chat capacity with think time",
        "",
        f"Command: `{how}`. Each level runs N simulated customers for {seconds:.0f} s; a customer "
        f"thinks for an exponential time (mean {think:g} s) after each reply. Conversations: "
        "greeting, FAQ, \"where is my order?\", order number, e-mail of a seeded order, FAQ, "
        "goodbye, in English, Swedish, Norwegian and Chinese (customer i speaks language i mod 4).",
        "",
        f"Machine: {os.cpu_count()} CPU cores shared with other jobs (load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} when the run started), Python "
        f"{platform.python_version()}. The systems ran one after the other, each alone with "
        "the load generator.",
        "",
        *[f"- **{key}**: {layout}" for key, layout in layouts.items()],
        "",
        "## Capacity",
        "",
        summary(by_system),
        "",
        "## Levels",
        "",
        table(every),
        "",
        "Offered turns/s: customers / mean think time (what they would send if every reply were "
        "instant). Served turns/s: turns answered / level duration. Errors: non-200 answers or "
        "none within 60 s. Wrong replies: the reply to the e-mail did not name the order "
        "(checked only for assistants with the order actions). Lost / duplicated turns: user "
        "messages in the tracker store per conversation against the messages sent. A reference "
        "system whose p95 passed 5 s at 50 customers or more did not run the higher levels.",
        "",
    ])
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="chat capacity with think time")
    parser.add_argument("--levels", default="25,50,100,200,300,500",
                        help="concurrent customers per level, comma list")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each level")
    parser.add_argument("--think", type=float, default=8.0, help="mean think time, seconds")
    parser.add_argument("--systems", default="project,today,plain")
    parser.add_argument("--rasa-replicas", type=int, default=2)
    parser.add_argument("--action-replicas", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="keep the servers' logs in this folder")
    parser.add_argument("--project-model", type=Path,
                        help="this tree's model file (default: trained from the tree if needed)")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    keys = [k.strip() for k in args.systems.split(",") if k.strip()]
    how = "python -m bench.chat_latency " + " ".join(argv if argv is not None else sys.argv[1:])
    load = os.getloadavg()
    by_system: dict[str, list[LevelResult]] = {}
    layouts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        work = Path(tmp)
        if args.keep:
            work = args.keep / time.strftime("%Y%m%d-%H%M%S")
            work.mkdir(parents=True)
        for key in keys:
            results, layout = run_system(key, levels, args.seconds, args.think,
                                         args.rasa_replicas, args.action_replicas, work,
                                         args.project_model)
            by_system[key], layouts[key] = results, layout
    print(table([r for rs in by_system.values() for r in rs]))
    print(summary(by_system))
    write_report(by_system, layouts, how.strip(), args.seconds, args.think, load)
    print(f"bench-chat: wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
