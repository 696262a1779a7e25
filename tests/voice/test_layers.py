"""The phone channel stands on its own: it imports no other channel (mail/, messaging/), not
the action server's code (actions/) and not the Slack app (bot/); files stay under 400 lines."""

from __future__ import annotations

from pathlib import Path

from tests.test_package_layers import imported_packages

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"mail", "messaging", "actions", "bot"}


def test_voice_imports_no_other_channel() -> None:
    files = sorted((ROOT / "voice").rglob("*.py"))
    assert files
    offenders = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN)
                 for path in files}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_files_are_short() -> None:
    for path in [*(ROOT / "voice").rglob("*.py"), ROOT / "nordvik" / "phones.py",
                 ROOT / "store" / "ownership.py"]:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path
