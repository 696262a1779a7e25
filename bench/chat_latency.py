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
Writes its section of reports/chat_latency.md.

`--closed-loop` (bench/chat_closed_loop.py) runs N customers with no think time instead (N = 1,
10, 50 by default), this tree as `make run` starts it on embedded defaults (bench/systems.py
make_run_layout) against a plain `rasa init`, alternating for --rounds rounds, and writes the
closed-loop section of the same report with the ratios project / plain and issue 27's figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text

from bench import chat_closed_loop, chat_think_time, systems
from bench.chat_closed_loop import replace_section
from bench.chat_customers import LANGUAGES, LevelResult, percentile, run_load
from bench.chat_think_time import summary, table
from tests.support.store import ORDERS
from tests.support.supervised import (
    StackSpec,
    plain_endpoints,
    project_action_argv,
    rasa_sdk_action_argv,
    supervised_stack,
)

if TYPE_CHECKING:
    from scripts.services import Service

__all__ = ["LevelResult", "RunPlan", "main", "percentile", "run_system"]

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "chat_latency.md"
GIVE_UP_P95_MS = 5000.0
CLOSED_LOOP_LEVELS = "1,10,50"
PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RunPlan:
    """What one system runs: its levels and how customers behave, and where."""

    levels: tuple[int, ...]
    seconds: float
    think: float  # mean think time; 0: closed loop with no think time
    rasa_replicas: int  # the think-time mode's layout (closed loop: make run's defaults)
    action_replicas: int
    work: Path
    project_model: Path | None = None
    closed_loop: bool = False
    repeat: int = 1


def stored_user_turns(tracker_url: str, prefix: str) -> dict[str, int]:
    """sender -> user events in the SQL tracker store, for senders starting with `prefix`."""
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
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement.format(self.name)))
        finally:
            engine.dispose()


def measure_level(system: str, rest_url: str, tracker_url: str, customers: int,
                  plan: RunPlan, orders: Sequence[tuple[str, str, str]],
                  check_replies: bool) -> LevelResult:
    seconds, think = plan.seconds, plan.think
    run_id = f"{system}-{plan.repeat}-{customers}-{int(time.time())}"
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
        offered_tps=customers / think if think > 0 else float("inf"), turns=len(latencies),
        served_tps=(len(latencies) - outcome.errors) / outcome.seconds if outcome.seconds
        else 0.0,  # answered turns only
        p50_ms=statistics.median(latencies) if latencies else float("nan"),
        p95_ms=percentile(latencies, 95), p99_ms=percentile(latencies, 99),
        errors=outcome.errors, wrong=outcome.wrong, lost=lost, duplicated=duplicated,
        repeat=plan.repeat,
    )


def run_system(key: str, plan: RunPlan) -> tuple[list[LevelResult], str]:
    if key == "project":
        prepared = systems.project(plan.project_model)
    else:
        prepared = {"today": systems.today, "plain": systems.plain}[key]()
    run_dir = plan.work / (key if plan.repeat == 1 else f"{key}-{plan.repeat}")
    run_dir.mkdir(parents=True)
    log = run_dir / "setup.log"
    pg_up, redis_up = _services_up()
    rasa_replicas, action_replicas = plan.rasa_replicas, plan.action_replicas
    balancer = key == "project"
    extra_services: tuple[Service, ...] = ()
    results: list[LevelResult] = []
    with ExitStack() as stack:
        env: dict[str, str] = {}
        if key == "project" and plan.closed_loop:
            made = systems.make_run_layout(run_dir, log, REDIS_URL if redis_up else "")
            env, layout = dict(made.env), made.describe()
            rasa_replicas, action_replicas = made.rasa_replicas, made.action_replicas
            balancer, extra_services = made.balancer, made.services
        elif key == "project" and pg_up and redis_up:
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
            orders = [(o.number, o.email, o.status) for o in ORDERS.values()]
        spec = StackSpec(
            run_dir=run_dir / "run", model=prepared.model, env=env, root=prepared.root,
            rasa_replicas=rasa_replicas if key == "project" else 1,
            action_replicas=(action_replicas if key == "project"
                             else (1 if prepared.has_actions else 0)),
            balancer=balancer, extra_services=extra_services,
            action_argv=rasa_sdk_action_argv if key == "today" else project_action_argv,
            endpoints=None if key == "project" else plain_endpoints,
        )
        print(f"bench-chat: starting {prepared.title}: {layout}", flush=True)
        started = time.monotonic()
        stack_ = stack.enter_context(supervised_stack(spec))
        print(f"bench-chat: {key} up in {time.monotonic() - started:.0f} s", flush=True)
        asyncio.run(_warm_up(stack_.rest_url, orders))
        for customers in plan.levels:
            result = measure_level(key, stack_.rest_url, stack_.tracker_url, customers, plan,
                                   orders, check_replies=prepared.has_actions)
            results.append(result)
            print(f"bench-chat: {key} round {plan.repeat}, {customers} customers: served "
                  f"{result.served_tps:.1f} turns/s, p50 {result.p50_ms:.0f} ms, p95 "
                  f"{result.p95_ms:.0f} ms, errors {result.errors}, lost {result.lost}",
                  flush=True)
            if result.p95_ms > GIVE_UP_P95_MS and key != "project" and customers >= 50:
                # the references stop once saturated; this tree runs every level
                print(f"bench-chat: {key} saturated; higher levels skipped", flush=True)
                break
    return results, f"{prepared.title}, model {prepared.model.name}, commit {prepared.commit}: " \
                    f"{layout}"


async def _warm_up(rest_url: str, orders: Sequence[tuple[str, str, str]]) -> None:
    """One conversation per language, untimed: the first turns load lazily built parts."""
    await run_load(rest_url, len(LANGUAGES), 12.0, 0.5, orders, f"warmup-{int(time.time())}",
                   check_replies=False)


def write_report(by_system: dict[str, list[LevelResult]], layouts: dict[str, str], how: str,
                 seconds: float, think: float, load: tuple[float, float, float],
                 report: Path = REPORT) -> None:
    """Write the think-time section of `report`; its closed-loop section stays as it is."""
    _write_section(report, chat_think_time.HEADING,
                   chat_think_time.section(by_system, layouts, how, seconds, think, load))


def _write_section(report: Path, heading: str, section: str) -> None:
    old = report.read_text(encoding="utf-8") if report.exists() else ""
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(replace_section(old, heading, section), encoding="utf-8")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="chat capacity with think time, or turns per "
                                     "core in a closed loop (--closed-loop)")
    parser.add_argument("--closed-loop", action="store_true",
                        help="customers with no think time, this tree as make run starts it "
                        "against plain rasa init (defaults: --levels 1,10,50 --systems "
                        "project,plain --rounds 2)")
    parser.add_argument("--levels", help="concurrent customers per level, comma list (default "
                        "25,50,100,200,300,500; closed loop 1,10,50)")
    parser.add_argument("--seconds", type=float, default=60.0, help="duration of each level")
    parser.add_argument("--think", type=float, default=8.0,
                        help="mean think time, seconds (not with --closed-loop)")
    parser.add_argument("--systems", help="comma list of project, today, plain (default all "
                        "three; closed loop project,plain)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="closed loop: how many times the systems alternate")
    parser.add_argument("--rasa-replicas", type=int, default=2,
                        help="think-time mode; the closed loop uses make run's defaults")
    parser.add_argument("--action-replicas", type=int, default=1,
                        help="think-time mode; the closed loop uses make run's defaults")
    parser.add_argument("--keep", type=Path, help="keep the servers' logs in this folder")
    parser.add_argument("--project-model", type=Path,
                        help="this tree's model file (default: trained from the tree if needed)")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help="report to write its section of (default reports/chat_latency.md)")
    return parser


def _machine(start: tuple[float, float, float], end: tuple[float, float, float]) -> str:
    return (f"Machine: {os.cpu_count()} CPU cores shared with other jobs (load average "
            f"{start[0]:.1f} / {start[1]:.1f} / {start[2]:.1f} when the run started, "
            f"{end[0]:.1f} / {end[1]:.1f} / {end[2]:.1f} when it ended), Python "
            f"{platform.python_version()}.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    closed = bool(args.closed_loop)
    levels = tuple(int(x) for x in (args.levels or (CLOSED_LOOP_LEVELS if closed else
                                                    "25,50,100,200,300,500")).split(",")
                   if x.strip())
    systems_ = args.systems or ("project,plain" if closed else "project,today,plain")
    keys = [k.strip() for k in systems_.split(",") if k.strip()]
    how = "python -m bench.chat_latency " + " ".join(argv if argv is not None else sys.argv[1:])
    load = os.getloadavg()
    by_system: dict[str, list[LevelResult]] = {}
    layouts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-chat-") as tmp:
        work = Path(tmp)
        if args.keep:
            work = args.keep / time.strftime("%Y%m%d-%H%M%S")
            work.mkdir(parents=True)
        for repeat in range(1, (max(1, args.rounds) if closed else 1) + 1):
            for key in keys:
                plan = RunPlan(levels=levels, seconds=args.seconds,
                               think=0.0 if closed else args.think,
                               rasa_replicas=args.rasa_replicas,
                               action_replicas=args.action_replicas, work=work,
                               project_model=args.project_model, closed_loop=closed,
                               repeat=repeat)
                results, layouts[key] = run_system(key, plan)
                by_system.setdefault(key, []).extend(results)
    every = [r for rs in by_system.values() for r in rs]
    if closed:
        every.sort(key=lambda r: (r.repeat, keys.index(r.system), r.customers))
        print(chat_closed_loop.levels_table(every))
        print(chat_closed_loop.ratios_table(every))
        _write_section(args.report, chat_closed_loop.HEADING, chat_closed_loop.section(
            every, layouts, how.strip(), args.seconds, _machine(load, os.getloadavg())))
    else:
        print(table(every))
        print(summary(by_system))
        write_report(by_system, layouts, how.strip(), args.seconds, args.think, load,
                     args.report)
    print(f"bench-chat: wrote {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
