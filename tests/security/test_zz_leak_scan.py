"""After the end-to-end tests: no seeded customer's e-mail address in any log or tracker store.

Runs last among the tests on the security stack (file name), and those run as one group after
every other group in a parallel run (tests/conftest.py), so the other groups' stacks have
written their logs. It scans
- every log file the test run wrote (the security stack's, and, in a whole-suite run, every
  other stack's under pytest's base temp directory: the whole run's, all workers', under
  pytest-xdist) and `make run`'s service logs in the session's state folder
  (nordvik.env.state_dir);
- every Rasa tracker store among them (SQLite files with Rasa's `events` table), row by row and
  as raw bytes (deleted rows can linger in free pages), and the state folder's tracker.db;
- every table of the security stack's order store except `customers`, the one place the
  addresses belong.
The addresses are the seeded customers of the test stores (tests/support/store.py) and, when a
store exists in the state folder, the customers seeded into it. (`make run`'s own logs are
scanned by tests/scripts/test_newcomer.py.)
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from nordvik.env import state_dir
from nordvik.text import EMAIL_RE
from store.repository import OrderStore
from tests.security.conftest import SEEDED_EMAILS, AttackLog
from tests.support.rasa_stack import RasaStack

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]

ANY_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")


def seeded_addresses() -> set[str]:
    addresses = {a.lower() for a in SEEDED_EMAILS}
    store_db = state_dir() / "store.db"
    if store_db.exists():
        try:
            with sqlite3.connect(f"file:{store_db}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT email FROM customers")
                addresses |= {str(e).lower() for (e,) in rows}
        except sqlite3.Error:
            pass
    return addresses


def found_in(data: bytes, addresses: set[str]) -> set[str]:
    return {m.decode(errors="replace").lower() for m in ANY_EMAIL.findall(data)} & addresses


def read(path: Path) -> bytes | None:
    """The file's bytes, or None when it is gone (another worker's test removed its folder)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def sqlite_files(folder: Path) -> list[Path]:
    out = []
    for path in folder.rglob("*"):
        if path.is_file() and path.suffix in (".db", ".sqlite", ".sqlite3"):
            head = read(path)
            if head is not None and head.startswith(b"SQLite format 3"):
                out.append(path)
    return out


def has_events_table(path: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    except sqlite3.Error:
        return False
    return {"sender_id", "data"} <= columns


def test_no_seeded_address_in_logs_or_tracker_stores(
    security_stack: RasaStack, security_store: OrderStore, attack_log: AttackLog,
    tmp_path_factory: pytest.TempPathFactory, worker_id: str,
) -> None:
    attack = attack_log.attack("Seeded e-mail addresses in logs and tracker stores")
    addresses = seeded_addresses()
    base = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # a pytest-xdist worker: every worker's folder of this run
        base = base.parent
    logs = sorted({*base.rglob("*.log"), *security_stack.logs,
                   *(state_dir() / "run" / "logs").glob("*.log")})
    trackers = sorted({p for p in sqlite_files(base) if has_events_table(p)}
                      | {p for p in [state_dir() / "tracker.db"] if p.exists()})
    assert Path(security_stack.env["TRACKER_DB"]) in trackers
    leaks: list[str] = []
    for path in logs:
        data = read(path)
        if data is None:
            continue
        hit = found_in(data, addresses)
        attack.tried(refused=not hit, disclosed=bool(hit))
        if hit:
            leaks.append(f"log {path}: {len(hit)} address(es)")
    for path in trackers:
        for suffix in ("", "-wal", "-journal"):
            part = read(Path(str(path) + suffix))
            if part is not None:
                hit = found_in(part, addresses)
                attack.tried(refused=not hit, disclosed=bool(hit))
                if hit:
                    leaks.append(f"tracker store {path}{suffix}: {len(hit)} address(es)")
    store_db = Path(security_store.engine.url.database or "")
    with sqlite3.connect(f"file:{store_db}?mode=ro", uri=True) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if table == "customers":
                continue
            for row in conn.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own names
                text = " ".join(str(v) for v in row if isinstance(v, str)).encode()
                if EMAIL_RE.search(text.decode()) and found_in(text, addresses):
                    leaks.append(f"store table {table}: {row!r:.80}")
            attack.attempts += 1
            attack.refused += 1
    assert leaks == []
    attack.notes.append(
        f"Scanned {len(logs)} log files and {len(trackers)} Rasa tracker stores (rows and raw "
        f"file bytes, with WAL and journal files) written during this session, and "
        f"{len(tables) - 1} tables of the security stack's order store, for "
        f"{len(addresses)} seeded customers' addresses: none found outside the customer table.")
