"""Where every accepted mail is kept: a folder per state under MAIL_SPOOL_DIR (var/mail).

    incoming/  accepted by the SMTP receiver, not yet processed (re-read at start-up)
    done/      handed to the assistant (answered, handed to an agent or forwarded)
    skipped/   auto-replies and bounces: never answered
    held/      over the sender's rate limit: kept, not answered
    parked/    could not be processed (no usable sender, the Rasa server refused it or never
               answered): a case is open for each
    outbox/    replies the SMTP server did not take yet (retried by the receiver)

Each mail is two files, `<id>.eml` (the bytes as received) and `<id>.json` (state: attempts,
outcome, the reason it was moved). Files are written to tmp/ and renamed into place, so a crash
leaves a mail either fully in a folder or not there. Folders are private to the user (0700).

    python -m mail.spool list [FOLDER]
    python -m mail.spool requeue held|parked      # back to incoming/ (the receiver picks it up)
    python -m mail.spool purge --older-than 30    # days; done/ and skipped/ only

`store forget ADDRESS` also deletes that customer's mails here (Spool.forget).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mail.settings import MailSettings

FOLDERS = ("incoming", "done", "skipped", "held", "parked", "outbox")
PURGEABLE = ("done", "skipped")


class SpoolError(OSError):
    """A mail could not be written to or moved within the spool."""


def new_mail_id() -> str:
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Spooled:
    mail_id: str
    folder: str
    raw: bytes
    meta: dict[str, Any]


class Spool:
    def __init__(self, root: Path) -> None:
        self.root = root

    def ensure(self) -> Spool:
        for name in (*FOLDERS, "tmp"):
            path = self.root / name
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o700)
        os.chmod(self.root, 0o700)
        return self

    def _write(self, path: Path, data: bytes) -> None:
        temporary = self.root / "tmp" / f"{path.name}.{uuid.uuid4().hex[:8]}"
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)

    def store(self, raw: bytes, meta: dict[str, Any], folder: str = "incoming") -> str:
        """Keep a mail (fsynced) and return its id. SpoolError when the disk refuses."""
        mail_id = new_mail_id()
        try:
            self._write(self.root / folder / f"{mail_id}.json",
                        json.dumps({"received_at": time.time(), "attempts": 0, **meta}).encode())
            self._write(self.root / folder / f"{mail_id}.eml", raw)
        except OSError as exc:
            (self.root / folder / f"{mail_id}.json").unlink(missing_ok=True)
            raise SpoolError(f"could not store mail {mail_id} in {self.root / folder}: "
                             f"{type(exc).__name__}") from exc
        return mail_id

    def ids(self, folder: str) -> list[str]:
        """Mail ids in a folder, oldest first."""
        path = self.root / folder
        if not path.is_dir():
            return []
        return sorted(p.stem for p in path.glob("*.eml"))

    def folder_of(self, mail_id: str) -> str | None:
        for folder in FOLDERS:
            if (self.root / folder / f"{mail_id}.eml").exists():
                return folder
        return None

    def read(self, mail_id: str, folder: str = "incoming") -> Spooled:
        raw = (self.root / folder / f"{mail_id}.eml").read_bytes()
        try:
            meta = json.loads((self.root / folder / f"{mail_id}.json").read_text())
        except (OSError, ValueError):
            meta = {}
        return Spooled(mail_id, folder, raw, meta if isinstance(meta, dict) else {})

    def update(self, mail_id: str, folder: str = "incoming", **changes: Any) -> dict[str, Any]:
        meta = self.read(mail_id, folder).meta
        meta.update(changes)
        self._write(self.root / folder / f"{mail_id}.json", json.dumps(meta).encode())
        return meta

    def move(self, mail_id: str, source: str, target: str, **changes: Any) -> None:
        """Move a mail (both files) to another folder, noting why in its state."""
        if source == target:
            self.update(mail_id, source, **changes)
            return
        meta = self.read(mail_id, source).meta
        meta.update(changes, moved_at=time.time(), folder=target)
        try:
            self._write(self.root / target / f"{mail_id}.json", json.dumps(meta).encode())
            os.replace(self.root / source / f"{mail_id}.eml",
                       self.root / target / f"{mail_id}.eml")
            (self.root / source / f"{mail_id}.json").unlink(missing_ok=True)
        except OSError as exc:
            raise SpoolError(f"could not move mail {mail_id} from {source} to {target}: "
                             f"{type(exc).__name__}") from exc

    def delete(self, mail_id: str, folder: str) -> None:
        for suffix in (".eml", ".json"):
            (self.root / folder / f"{mail_id}{suffix}").unlink(missing_ok=True)

    def purge(self, older_than_days: float, now: float | None = None) -> int:
        cutoff = (now or time.time()) - older_than_days * 86400
        removed = 0
        for folder in PURGEABLE:
            for mail_id in self.ids(folder):
                path = self.root / folder / f"{mail_id}.eml"
                if path.stat().st_mtime < cutoff:
                    self.delete(mail_id, folder)
                    removed += 1
        return removed

    def forget(self, address: str) -> int:
        """Delete every mail, in any folder, from, to or mentioning this address (GDPR art.
        17; `store forget` calls it). Returns how many were deleted."""
        wanted = re.compile(rb"(?<![\w.+-])" + re.escape(address.strip().encode()) + rb"(?![\w-])",
                            re.IGNORECASE)
        removed = 0
        for folder in FOLDERS:
            for mail_id in self.ids(folder):
                try:
                    raw = (self.root / folder / f"{mail_id}.eml").read_bytes()
                except FileNotFoundError:  # moved meanwhile by a running receiver
                    continue
                if wanted.search(raw):
                    self.delete(mail_id, folder)
                    removed += 1
        return removed

    def listing(self, folder: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for mail_id in self.ids(folder):
            yield mail_id, self.read(mail_id, folder).meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mail.spool",
                                     description="The stored mails of the e-mail channel.")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="mails per folder (ids and why they are there)")
    listing.add_argument("folder", nargs="?", choices=FOLDERS)
    requeue = commands.add_parser("requeue", help="move held or parked mails back to incoming/")
    requeue.add_argument("folder", choices=("held", "parked"))
    purge = commands.add_parser("purge", help="delete done/ and skipped/ mails older than N days")
    purge.add_argument("--older-than", type=float, required=True, metavar="DAYS")
    args = parser.parse_args(argv)
    spool = Spool(MailSettings.from_env().spool_dir).ensure()
    if args.command == "list":
        for folder in [args.folder] if args.folder else list(FOLDERS):
            entries = list(spool.listing(folder))
            print(f"{folder}: {len(entries)}")
            for mail_id, meta in entries:
                print(f"  {mail_id}  {meta.get('reason') or meta.get('outcome') or ''}")
    elif args.command == "requeue":
        ids = spool.ids(args.folder)
        for mail_id in ids:
            spool.move(mail_id, args.folder, "incoming", attempts=0, reason="requeued")
        print(f"{len(ids)} mails moved from {args.folder}/ to incoming/; a running receiver "
              "processes them at its next retry round (or restart it)")
    else:
        print(f"{spool.purge(args.older_than)} mails deleted")
    return 0


if __name__ == "__main__":
    sys.exit(main())
