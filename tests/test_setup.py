"""The set-up script finds Python 3.10 itself and says clearly when there is none."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"


def test_finds_a_python_310_interpreter() -> None:
    found = subprocess.run(
        ["bash", str(SETUP), "--find-python"], capture_output=True, text=True, check=True
    ).stdout.strip()
    version = subprocess.run(
        [found, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert version == "3.10"


def test_missing_python_310_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    result = subprocess.run(
        ["bash", str(SETUP)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "VENV": str(venv)},
    )
    assert result.returncode == 1
    assert "Python 3.10 not found" in result.stderr
    assert not venv.exists()
