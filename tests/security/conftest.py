"""The adversarial suite: one real stack (Rasa server + action server + order store) for the
whole package, every attack counted, and reports/security.md written at the end.

Each test records an `Attack` (attempts, refused, disclosures, 5xx) in `attack_log`; the session
writes the table to reports/security.md (attacks that did not run this time keep their last row,
from reports/security.json, marked with the date they ran).

The stack trusts one proxy (SANIC_PROXIES_COUNT=1), as `make run` does behind HAProxy, so a test
can speak as many different client addresses through `X-Forwarded-For`. The tests use their
own address ranges so that per-client limits of one test do not touch another.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from store.repository import OrderStore
from tests.support.fixtures import rasa_model  # noqa: F401
from tests.support.rasa_stack import RasaStack, free_port, start_rasa_stack
from tests.support.store import ANNA, ERIK, ORDERS, make_test_store, sqlite_url

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "reports" / "security.md"
REPORT_DATA = ROOT / "reports" / "security.json"
SEEDED_EMAILS = (ANNA, ERIK)

# Limits of the shared stack (small enough to test, large enough for the other attacks).
STACK_LIMITS = {
    "RATE_SESSION_MESSAGES": "20", "RATE_SESSION_SECONDS": "60",
    "RATE_CLIENT_MESSAGES": "40", "RATE_CLIENT_SECONDS": "60",
    "VERIFY_MAX_PER_ORDER": "5", "VERIFY_MAX_PER_CLIENT": "10",
    "VERIFY_WINDOW_MINUTES": "60", "VERIFY_LOCK_MINUTES": "60",
}


@dataclass
class Attack:
    """What one attack tried and what it got."""

    name: str
    attempts: int = 0
    refused: int = 0
    disclosures: int = 0
    server_errors: int = 0
    notes: list[str] = field(default_factory=list)  # written when the test got to its end

    def tried(self, *, refused: bool, disclosed: bool = False, status: int | None = None) -> None:
        self.attempts += 1
        self.refused += int(refused)
        self.disclosures += int(disclosed)
        self.server_errors += int(status is not None and status >= 500)


class AttackLog:
    def __init__(self) -> None:
        self.attacks: dict[str, Attack] = {}

    def attack(self, name: str) -> Attack:
        return self.attacks.setdefault(name, Attack(name))


def _render(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        "# Security: the adversarial suite",
        "",
        "Written by `tests/security` (pytest, marker `security`): every attack below is a test",
        "against the real Rasa server, action server, order store, `kb serve` and Slack app on",
        "loopback. *Attempts* are requests or conversations the attacker made; *refused* those",
        "turned away (401/403/400/429, a lock, a polite refusal); *disclosures* the answers that",
        "revealed something the attacker must not see; *5xx* the server errors. Every test",
        "asserts disclosures = 0 and 5xx = 0.",
        "",
        f"Last run: {meta['run']} ({meta['machine']}).",
        "",
        "| attack | attempts | refused | disclosures | 5xx | run |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        run = row["run"] if row.get("notes") else f"{row['run']}: did not complete"
        lines.append(f"| {row['name']} | {row['attempts']:,} | {row['refused']:,} | "
                     f"{row['disclosures']} | {row['server_errors']} | {run} |")
    lines += ["", "## Per attack", ""]
    for row in rows:
        notes = " ".join(row.get("notes") or []) or (
            "The test did not complete in this run (it failed or was interrupted): the counts "
            "above are what it had done by then; see the test's output.")
        lines.append(f"**{row['name']}.** {notes}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


@pytest.fixture(scope="session")
def attack_log() -> Iterator[AttackLog]:
    log = AttackLog()
    yield log
    if log.attacks:
        write_report(log)


def write_report(log: AttackLog, data: Path = REPORT_DATA, report: Path = REPORT) -> None:
    """Merge this session's attacks into the report. Under pytest-xdist each worker has its own
    session and attack log, and they finish at about the same time: the read, merge and write
    happen under an exclusive lock on the data file, so no worker's rows are lost."""
    run = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    with open(data, "a+", encoding="utf-8") as locked:
        fcntl.flock(locked, fcntl.LOCK_EX)  # released when the file is closed
        locked.seek(0)
        try:
            previous = {r["name"]: r for r in json.loads(locked.read())["attacks"]}
        except (ValueError, KeyError, TypeError):
            previous = {}
        for attack in log.attacks.values():
            previous[attack.name] = {**asdict(attack), "run": run}
        rows = sorted(previous.values(), key=lambda r: r["name"])
        meta = {"run": run, "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                       f"load {os.getloadavg()[0]:.1f}"}
        locked.seek(0)
        locked.truncate()
        locked.write(json.dumps({"meta": meta, "attacks": rows}, indent=1,
                                ensure_ascii=False) + "\n")
        locked.flush()
        report.write_text(_render(rows, meta), encoding="utf-8")


@pytest.fixture(scope="package")
def security_store(tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    return make_test_store(sqlite_url(tmp_path_factory.mktemp("security-store") / "store.db"))


@pytest.fixture(scope="package")
def security_stack(
    request: pytest.FixtureRequest,
    security_store: OrderStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RasaStack]:
    """The real Rasa server and action server, started as `make run` starts them.

    The model is the project's (trained once per session if its inputs changed), or the one
    NORDVIK_TEST_MODEL names (an already trained model, for quick local runs).
    """
    given = os.environ.get("NORDVIK_TEST_MODEL")
    model = Path(given) if given else request.getfixturevalue("rasa_model")
    env = {
        **STACK_LIMITS,
        "SANIC_PROXIES_COUNT": "1",
        "KB_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens: the polite fallback
        "WEB_ORIGINS": "http://localhost:8080,http://127.0.0.1:8080",
    }
    with start_rasa_stack(tmp_path_factory.mktemp("security-stack"), str(security_store.engine.url),
                          env, model=model) as stack:
        yield stack


# --------------------------------------------------------------------------- helpers


def texts(replies: Any) -> str:
    """The bot's texts in a REST answer (a list of messages, or the raw body of a 4xx)."""
    if isinstance(replies, str):
        try:
            replies = json.loads(replies)
        except ValueError:
            return replies
    if not isinstance(replies, list):
        return str(replies)
    return "\n".join(str(r.get("text", "")) for r in replies if isinstance(r, dict))


def order_secrets(number: str) -> list[str]:
    """What an answer about this order reveals: carrier, tracking number, items."""
    known = next(o for o in ORDERS.values() if o.number == number)
    found = ["Birch table lamp", "Stoneware mug"]
    found += [v for v in (known.carrier, known.tracking_number) if v]
    return found


def discloses(body: Any, number: str | None = None) -> bool:
    """True when an answer shows a seeded customer's address or an order's details."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    lowered = text.lower()
    if any(address in lowered for address in SEEDED_EMAILS):
        return True
    numbers = [number] if number else [o.number for o in ORDERS.values()]
    return any(secret in text for n in numbers for secret in order_secrets(n))


def say(stack: RasaStack, sender: str, text: str, client_ip: str,
        timeout: float = 60.0) -> tuple[int, Any]:
    """One customer message over REST, from `client_ip` (via the trusted proxy header)."""
    return stack.post(stack.rest_url, {"sender": sender, "message": text}, timeout=timeout,
                      headers={"X-Forwarded-For": client_ip})


def unique(prefix: str) -> str:
    return f"{prefix}-{time.time_ns()}"
