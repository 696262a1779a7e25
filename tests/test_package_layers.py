"""Packages follow deployables: the action server's code (actions/) and the handoff relay
(handoff/), which both the action server and the Slack app deploy, never import the Slack app
(bot/); handoff/ imports neither deployable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "actions": ("bot",),
    "handoff": ("bot", "actions"),
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module imported by a Python file (absolute imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_scanner_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import bot.app\nfrom bot.services import x\n"
                      "def f():\n    import actions.orders\n", encoding="utf-8")
    assert imported_packages(sample) == {"bot", "actions"}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_packages(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & set(FORBIDDEN[package]))
        for path in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}
