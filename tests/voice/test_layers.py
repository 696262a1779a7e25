"""The phone channel stands on its own: it imports no other channel (mail/, messaging/), not
the action server's code (actions/) and not the Slack app (bot/); files stay under 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"mail", "messaging", "actions", "bot"}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of the modules a file imports (absolute imports, anywhere in it)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


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
