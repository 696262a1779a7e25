"""The closed-loop section of reports/chat_latency.md (`python -m bench.chat_latency
--closed-loop`): N customers with no think time against this tree as `make run` starts it and a
plain `rasa init` assistant, the two alternating in one run, with the figures issue 27 quoted
beside the new ones and the ratios project / plain of each round.

The report holds one top-level section per mode; a run replaces its own section and keeps the
other one as it was (`replace_section`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.chat_customers import LevelResult

HEADING = "# Closed loop: customers with no think time"
# issue 27, measured by hand before this mode existed: make run's default layout against a
# plain `rasa init`, REST, no think time, the two alternating on the same machine
OLD_P50_1 = ("68-76 ms", "43-45 ms", "1.6x slower")
OLD_TPS_10 = ("17.1 and 13.1", "19.9 and 22.1", "0.72x")
TARGET_TPS_10 = 1.0  # 10 customers: turns/s at least plain's
TARGET_P50_1 = 1.25  # 1 customer: p50 at most 1.25 times plain's


def replace_section(report: str, heading: str, section: str) -> str:
    """`report` with its top-level section `heading` (up to the next `# ` line) replaced by
    `section`, or with `section` added first when it has no such section."""
    lines = report.splitlines()
    start = next((i for i, line in enumerate(lines) if line == heading), None)
    body = section.rstrip("\n").splitlines()
    if start is None:
        rest = report.strip("\n")
        return "\n".join(body) + ("\n\n" + rest if rest else "") + "\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("# ")),
               len(lines))
    after = lines[end:]
    return "\n".join(lines[:start] + body + ([""] + after if after else [])) + "\n"


def _pairs(results: Sequence[LevelResult]) -> list[tuple[LevelResult, LevelResult]]:
    """(project, plain) of the same round and level, in round then level order."""
    plain = {(r.repeat, r.customers): r for r in results if r.system == "plain"}
    return [(r, plain[(r.repeat, r.customers)]) for r in results
            if r.system == "project" and (r.repeat, r.customers) in plain]


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(a) and not math.isnan(b) else float("nan")


def ratios_table(results: Sequence[LevelResult]) -> str:
    lines = ["| round | customers | project turns/s | plain turns/s | turns/s ratio | "
             "project p50 ms | plain p50 ms | p50 ratio |", "|---|---|---|---|---|---|---|---|"]
    for project, plain in _pairs(results):
        lines.append(
            f"| {project.repeat} | {project.customers} | {project.served_tps:.1f} | "
            f"{plain.served_tps:.1f} | **{_ratio(project.served_tps, plain.served_tps):.2f}x** | "
            f"{project.p50_ms:.0f} | {plain.p50_ms:.0f} | "
            f"**{_ratio(project.p50_ms, plain.p50_ms):.2f}x** |")
    return "\n".join(lines)


def levels_table(results: Sequence[LevelResult]) -> str:
    lines = ["| round | system | customers | served turns/s | turns | p50 ms | p95 ms | p99 ms | "
             "errors | wrong replies | lost turns | duplicated turns |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.repeat} | {r.system} | {r.customers} | {r.served_tps:.1f} | {r.turns} | "
            f"{r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.errors} | {r.wrong} | "
            f"{r.lost} | {r.duplicated} |")
    return "\n".join(lines)


def _joined(values: Sequence[str]) -> str:
    return " and ".join(values) if values else "not run"


def against_old(results: Sequence[LevelResult]) -> str:
    """The issue's figures beside this run's, with the targets and how many rounds met them."""
    pairs = _pairs(results)
    one = [(p, q) for p, q in pairs if p.customers == 1]
    ten = [(p, q) for p, q in pairs if p.customers == 10]
    p50_ratios = [_ratio(p.p50_ms, q.p50_ms) for p, q in one]
    tps_ratios = [_ratio(p.served_tps, q.served_tps) for p, q in ten]
    lines = [
        "| | before (issue 27): project | plain | ratio | this run: project | plain | ratio | "
        "target |", "|---|---|---|---|---|---|---|---|",
        f"| 1 customer, p50 latency | {OLD_P50_1[0]} | {OLD_P50_1[1]} | {OLD_P50_1[2]} | "
        f"{_joined([f'{p.p50_ms:.0f} ms' for p, _ in one])} | "
        f"{_joined([f'{q.p50_ms:.0f} ms' for _, q in one])} | "
        f"{_joined([f'{x:.2f}x' for x in p50_ratios])} | <= {TARGET_P50_1:.2f}x |",
        f"| 10 customers, turns/s | {OLD_TPS_10[0]} | {OLD_TPS_10[1]} | {OLD_TPS_10[2]} | "
        f"{_joined([f'{p.served_tps:.1f}' for p, _ in ten])} | "
        f"{_joined([f'{q.served_tps:.1f}' for _, q in ten])} | "
        f"{_joined([f'{x:.2f}x' for x in tps_ratios])} | >= {TARGET_TPS_10:.2f}x |",
        "",
    ]
    if p50_ratios:
        met = sum(x <= TARGET_P50_1 for x in p50_ratios)
        lines.append(f"- 1 customer, p50 at most {TARGET_P50_1:.2f}x plain: met in {met} of "
                     f"{len(p50_ratios)} round(s).")
    if tps_ratios:
        met = sum(x >= TARGET_TPS_10 for x in tps_ratios)
        lines.append(f"- 10 customers, turns/s at least {TARGET_TPS_10:.2f}x plain: met in {met} "
                     f"of {len(tps_ratios)} round(s).")
    return "\n".join(lines)


def section(results: Sequence[LevelResult], layouts: dict[str, str], how: str, seconds: float,
            machine: str) -> str:
    rounds = max((r.repeat for r in results), default=0)
    return "\n".join([
        HEADING,
        "",
        f"Command: `{how}`. Each level runs N customers for {seconds:.0f} s with no think time: "
        "a customer sends its next message as soon as the reply to the last one arrived "
        "(REST). Conversations: greeting, FAQ, \"where is my order?\", order number, e-mail "
        "of a seeded order, FAQ, goodbye, in English, Swedish, Norwegian and Chinese. The "
        f"systems alternate: {rounds} round(s), in each the systems below in their order, each "
        "stack started for its round and stopped after it, alone with the load generator.",
        "",
        machine,
        "",
        *[f"- **{key}**: {layout}" for key, layout in layouts.items()],
        "",
        "## Against the figures of issue 27",
        "",
        against_old(results).rstrip("\n"),
        "",
        "## Project / plain, per round and level",
        "",
        ratios_table(results),
        "",
        "## Levels",
        "",
        levels_table(results),
        "",
        "Served turns/s: turns answered / level duration. Errors: non-200 answers or none within "
        "60 s. Wrong replies: the reply to the e-mail did not name the order (checked only for "
        "this tree). Lost / duplicated turns: user messages in the tracker store per "
        "conversation against the messages sent. Every customer comes from 127.0.0.1, so the "
        "per-client message limit of the customer channels is off (RATE_CLIENT_MESSAGES=0) for "
        "this tree; it is the one setting that differs from `make run`'s defaults.",
        "",
    ])
