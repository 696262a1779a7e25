"""The set-up scripts: Python 3.10 found or a clear error; the lock installed by uv (pinned in
the lock) with pip as the fallback, one line per step and a failing step's error in full; what
`make run` installs apart from what only `make test` needs."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP = ROOT / "scripts" / "setup.sh"
LOCK = ROOT / "requirements" / "lock.txt"
NOISE = ("WARNING: Location 'file:///opt/nowhere/simple/uv/' is ignored: it is neither a file "
         "nor a directory.")

# A stand-in for the venv's python and uv: logs its arguments, and fails (printing pip's
# find-links noise and an error) when they contain $FAKE_FAIL.
_FAKE = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "$(dirname "$0")/../calls.log"
if [ "$(basename "$0")" = uv ] && [ "$1" = --version ]; then
    echo "uv $FAKE_UV_VERSION (x86_64)"
    exit 0
fi
if [ -n "${FAKE_FAIL:-}" ] && [[ "$*" == *"$FAKE_FAIL"* ]]; then
    echo "NOISE_LINE" >&2
    echo "ERROR: No matching distribution found for $FAKE_FAIL" >&2
    exit 1
fi
exit 0
"""


def _uv_version() -> str:
    pinned = re.findall(r"^uv==(\S+)$", LOCK.read_text(encoding="utf-8"), flags=re.M)
    assert len(pinned) == 1, "requirements/lock.txt must pin uv exactly once"
    return pinned[0]


def _fake_venv(tmp_path: Path, *, with_uv: bool) -> Path:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "uv") if with_uv else ("python",):
        tool = venv / "bin" / name
        tool.write_text(_FAKE.replace("NOISE_LINE", NOISE), encoding="utf-8")
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return venv


def _setup(venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SETUP)], capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "VENV": str(venv), "FAKE_UV_VERSION": _uv_version(), **env},
    )


def _calls(venv: Path) -> list[str]:
    return (venv / "calls.log").read_text(encoding="utf-8").splitlines()


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


def test_uv_syncs_exactly_the_lock_then_installs_the_project(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, with_uv=True)
    result = _setup(venv)
    assert result.returncode == 0, result.stderr
    python = f"--python {venv}/bin/python"
    assert [c for c in _calls(venv) if "--version" not in c] == [
        f"uv pip sync --quiet {python} --compile-bytecode requirements/lock.txt",
        f"uv pip install --quiet {python} --no-deps --no-build-isolation -e .",
    ]
    lines = result.stdout.splitlines()
    assert all(line.startswith("setup: ") for line in lines) and len(lines) == 3, lines
    assert "(uv," in lines[-1]
    assert list(venv.glob(".lock-*")), "the stamp is written"
    again = _setup(venv)
    assert again.returncode == 0 and again.stdout == "", "an up-to-date venv is left alone"


def test_uv_is_installed_at_the_version_the_lock_pins(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, with_uv=True)
    result = _setup(venv, FAKE_UV_VERSION="0.0.1")
    assert result.returncode == 0, result.stderr
    assert f"python -m pip --quiet --disable-pip-version-check install uv=={_uv_version()}" \
        in _calls(venv)


def test_pip_installs_the_lock_when_uv_cannot_be_had(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, with_uv=False)
    result = _setup(venv, FAKE_FAIL=f"uv=={_uv_version()}")
    assert result.returncode == 0, result.stderr
    assert "pip installs the lock instead" in result.stdout
    calls = _calls(venv)
    assert "python -m pip --quiet --disable-pip-version-check install -r requirements/lock.txt" \
        in calls
    assert calls[-1].endswith("install --no-deps --no-build-isolation -e .")
    assert "(pip," in result.stdout.splitlines()[-1]


def test_a_failing_step_shows_its_error_without_the_find_links_noise(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, with_uv=False)
    result = _setup(venv, SETUP_INSTALLER="pip", FAKE_FAIL="-r requirements/lock.txt")
    assert result.returncode == 1
    assert "'installing the locked dependencies with pip" in result.stderr
    assert "ERROR: No matching distribution found for -r requirements/lock.txt" in result.stderr
    assert "is ignored" not in result.stderr + result.stdout
    assert not list(venv.glob(".lock-*")), "no stamp after a failure"


def test_an_unknown_installer_is_refused(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path, with_uv=True)
    result = _setup(venv, SETUP_INSTALLER="poetry")
    assert result.returncode == 1
    assert "SETUP_INSTALLER must be uv or pip" in result.stderr


def _prerequisites(target: str) -> list[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(rf"^{re.escape(target)}:([^#\n]*)", makefile, flags=re.M)
    assert match, f"no target {target} in the Makefile"
    return match.group(1).split()


def test_make_run_installs_no_browser_and_make_test_does() -> None:
    assert "setup-browser" not in _prerequisites("run")
    assert {"setup", "setup-web"} <= set(_prerequisites("run"))
    assert {"setup", "setup-web", "setup-browser"} <= set(_prerequisites("test"))
    web = (ROOT / "scripts" / "setup_web.sh").read_text(encoding="utf-8")
    browser = (ROOT / "scripts" / "setup_browser.sh").read_text(encoding="utf-8")
    assert "apt-get install -y -qq chromium" not in web and "fonts-wqy" not in web
    assert "apt-get install -y -qq haproxy" in web
    assert "apt-get install -y -qq chromium" in browser and "fonts-wqy-microhei" in browser


def test_the_installed_packages_carry_their_bytecode() -> None:
    """The Makefile keeps Python from writing __pycache__, so the venv's packages must have been
    compiled at set-up, or each server would compile Rasa and TensorFlow at every start."""
    for package, source in (("rasa", "core/agent.py"), ("tensorflow", "__init__.py"),
                            ("sanic", "app.py"), ("rasa_sdk", "endpoint.py")):
        spec = importlib.util.find_spec(package)  # locates the package without importing it
        assert spec is not None and spec.origin is not None, package
        origin = Path(spec.origin).parent / source
        cached = Path(importlib.util.cache_from_source(str(origin)))
        assert cached.is_file(), f"{origin}: no {cached.name} (set-up compiles the venv)"
        assert cached.stat().st_mtime >= origin.stat().st_mtime, origin
