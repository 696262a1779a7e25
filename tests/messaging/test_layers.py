"""The messaging package stays small enough to read: files of at most 400 lines, functions of at
most 8 parameters. (That it imports no other channel is an import-linter contract in
pyproject.toml, checked by `make lint` and tests/test_package_layers.py.)"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted((ROOT / "messaging").rglob("*.py"))


def test_files_and_functions_are_small() -> None:
    assert FILES
    for path in [*FILES, *sorted((ROOT / "tests" / "messaging").glob("*.py"))]:
        source = path.read_text(encoding="utf-8")
        assert len(source.splitlines()) <= 400, path
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args
                count = len(arguments.posonlyargs + arguments.args + arguments.kwonlyargs)
                count -= int(bool(arguments.args) and arguments.args[0].arg in ("self", "cls"))
                assert count <= 8, f"{path}:{node.lineno} {node.name} has {count} parameters"
