"""The think-time section of reports/chat_latency.md (`make bench-chat`): capacity, the
highest served turns/s of a level whose p95 is at most 500 ms, and every level's figures."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

from bench.chat_customers import LevelResult

HEADING = "# Chat capacity with think time"
P95_TARGET_MS = 500.0


def capacity(results: Sequence[LevelResult]) -> float:
    """The highest served turns/s among levels with p95 <= 500 ms and no errors or lost turns
    (0 when none)."""
    return max((r.served_tps for r in results
                if r.p95_ms <= P95_TARGET_MS and r.errors == 0 and r.lost == 0), default=0.0)


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


def section(by_system: dict[str, list[LevelResult]], layouts: dict[str, str], how: str,
            seconds: float, think: float, load: tuple[float, float, float]) -> str:
    """The think-time section of reports/chat_latency.md."""
    every = [r for results in by_system.values() for r in results]
    return "\n".join([
        HEADING,
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
