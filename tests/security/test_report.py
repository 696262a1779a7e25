"""The security report: rows of every worker's session kept, written one worker at a time."""

from __future__ import annotations

import fcntl
import json
import threading
from pathlib import Path

from tests.security.conftest import AttackLog, write_report


def _log(name: str) -> AttackLog:
    log = AttackLog()
    log.attack(name).tried(refused=True)
    return log


def test_a_second_workers_rows_join_the_first_ones(tmp_path: Path) -> None:
    data, report = tmp_path / "security.json", tmp_path / "security.md"
    write_report(_log("attack A"), data, report)
    write_report(_log("attack B"), data, report)
    rows = json.loads(data.read_text())["attacks"]
    assert [r["name"] for r in rows] == ["attack A", "attack B"]
    assert "| attack A | 1 | 1 | 0 | 0 |" in report.read_text()
    assert "| attack B | 1 | 1 | 0 | 0 |" in report.read_text()


def test_a_worker_waits_while_another_one_writes(tmp_path: Path) -> None:
    data, report = tmp_path / "security.json", tmp_path / "security.md"
    write_report(_log("attack A"), data, report)
    with open(data, "a+", encoding="utf-8") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        writer = threading.Thread(target=write_report, args=(_log("attack B"), data, report))
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()  # blocked on the lock
        assert "attack B" not in data.read_text()
    writer.join(10)
    assert not writer.is_alive()
    assert [r["name"] for r in json.loads(data.read_text())["attacks"]] == ["attack A", "attack B"]
