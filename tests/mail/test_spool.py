"""The mail spool: stored before anything else, moved by state, private, purged, requeued."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from mail.spool import FOLDERS, Spool, main


def test_a_mail_is_stored_whole_and_moved_with_its_state(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "mail").ensure()
    mail_id = spool.store(b"From: a@b.example\r\n\r\nhi", {"null_sender": False})
    assert spool.ids("incoming") == [mail_id]
    stored = spool.read(mail_id)
    assert stored.raw == b"From: a@b.example\r\n\r\nhi" and stored.meta["attempts"] == 0
    spool.update(mail_id, attempts=2)
    spool.move(mail_id, "incoming", "parked", reason="why")
    assert spool.ids("incoming") == [] and spool.folder_of(mail_id) == "parked"
    moved = spool.read(mail_id, "parked")
    assert moved.raw == stored.raw
    assert (moved.meta["attempts"], moved.meta["reason"], moved.meta["folder"]) == (2, "why",
                                                                                   "parked")
    assert list((tmp_path / "mail" / "tmp").iterdir()) == []


def test_folders_and_files_are_private(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "mail").ensure()
    mail_id = spool.store(b"secret", {})
    for folder in FOLDERS:
        assert stat.S_IMODE(os.stat(tmp_path / "mail" / folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "mail" / "incoming" / f"{mail_id}.eml").st_mode) \
        == 0o600


def test_forget_deletes_the_address_mails_in_every_folder_and_nothing_else(
        tmp_path: Path) -> None:
    spool = Spool(tmp_path / "mail").ensure()
    from_her = spool.store(b"From: Anna <Anna.Berg@Example.com>\r\n\r\nwhere is A10001?", {})
    spool.move(from_her, "incoming", "done")
    to_her = spool.store(b"To: anna.berg@example.com\r\n\r\nYour order", {}, "outbox")
    quoted = spool.store(b"From: lin@example.com\r\n\r\nmy friend anna.berg@example.com", {},
                         "parked")
    lookalikes = [spool.store(f"From: {a}\r\n\r\nhi".encode(), {}) for a in
                  ("xanna.berg@example.com", "anna.berg@example.community", "lin@example.com")]
    assert spool.forget("anna.berg@example.com") == 3
    for mail_id in (from_her, to_her, quoted):
        assert spool.folder_of(mail_id) is None
        assert not list(tmp_path.rglob(f"{mail_id}.*"))
    assert sorted(spool.ids("incoming")) == sorted(lookalikes)
    assert spool.forget("anna.berg@example.com") == 0  # idempotent


def test_purge_keeps_recent_and_unfinished_mails(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "mail").ensure()
    old, recent, waiting = (spool.store(b"x", {}) for _ in range(3))
    spool.move(old, "incoming", "done")
    spool.move(recent, "incoming", "skipped")
    past = time.time() - 40 * 86400
    os.utime(tmp_path / "mail" / "done" / f"{old}.eml", (past, past))
    assert spool.purge(30) == 1
    assert spool.folder_of(old) is None
    assert spool.folder_of(recent) == "skipped" and spool.folder_of(waiting) == "incoming"


def test_cli_requeues_held_mails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MAIL_SPOOL_DIR", str(tmp_path / "mail"))
    monkeypatch.setenv("MAIL_WEBHOOK_TOKEN", "a-test-token-of-enough-length")
    spool = Spool(tmp_path / "mail").ensure()
    held = spool.store(b"x", {}, folder="held")
    assert main(["requeue", "held"]) == 0
    assert spool.folder_of(held) == "incoming"
    assert spool.read(held).meta["reason"] == "requeued"
    assert main(["list"]) == 0
    assert f"incoming: 1\n  {held}  requeued" in capsys.readouterr().out
