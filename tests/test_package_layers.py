"""The packages' layers, as import-linter contracts (pyproject.toml, [tool.importlinter]): the test
suite runs `lint-imports` as `make lint` does and fails with its report, and checks what
import-linter itself cannot: that every package of the repository is in the contracts, so a new
package is placed in a layer when it is added, not never."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli

ROOT = Path(__file__).resolve().parent.parent
NOT_LAYERED = {"tests"}  # the tests import every layer


def importlinter_config() -> dict[str, Any]:
    pyproject = tomli.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config: dict[str, Any] = pyproject["tool"]["importlinter"]
    return config


def repository_packages() -> set[str]:
    """Top-level folders with an __init__.py: every package the project imports by name."""
    return {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_LAYERED


def contract(contract_id: str) -> dict[str, Any]:
    found = [c for c in importlinter_config()["contracts"] if c.get("id") == contract_id]
    assert len(found) == 1, f"pyproject.toml has no single import-linter contract {contract_id!r}"
    return found[0]


def layered_packages() -> list[str]:
    """Every package named in the layers contract, "a | b" and "a : b" layers split up."""
    return [name.strip("() ") for layer in contract("layers")["layers"]
            for name in re.split(r"[|:]", layer)]


def test_every_package_has_a_layer_and_only_one() -> None:
    layered = layered_packages()
    assert sorted(layered) == sorted(set(layered)), "a package is in two layers"
    assert set(layered) == repository_packages()


def test_every_package_is_read_and_checked_for_loops() -> None:
    assert set(importlinter_config()["root_packages"]) == repository_packages()
    assert set(contract("no-loops")["ancestors"]) == repository_packages()


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}{result.stderr}"
