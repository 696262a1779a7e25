"""`make run` trains the model and builds the knowledge index at the same time on four cores or
more, one after the other below that."""

from __future__ import annotations

import stat
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from scripts import run_all

# A stand-in for `kb`: says it started, then waits (at most 60 s) for the training to say so.
_FAKE_KB = """#!/usr/bin/env bash
touch "{dir}/kb-started"
for _ in $(seq 600); do [ -f "{dir}/train-done" ] && break; sleep 0.1; done
echo "kb $1: live version is now v1"
exit {code}
"""


def _fake_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, code: int = 0) -> None:
    kb = tmp_path / "kb"
    kb.write_text(_FAKE_KB.format(dir=tmp_path, code=code), encoding="utf-8")
    kb.chmod(kb.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setattr(run_all, "VENV_BIN", tmp_path)
    monkeypatch.setattr(run_all, "_live_kb_version", lambda env: None)


def _recording_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, wait_for_kb: bool
) -> list[str]:
    """Replaces the steps: records which ran and whether kb had started during the training
    (which waits for it, at most 30 s, with `wait_for_kb`)."""
    seen: list[str] = []

    def step(title: str, argv: Sequence[str], env: dict[str, str]) -> None:
        if argv[-1] == "scripts.train":
            deadline = time.monotonic() + (30 if wait_for_kb else 0)
            while not (tmp_path / "kb-started").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            seen.append(f"train (kb started: {(tmp_path / 'kb-started').exists()})")
            (tmp_path / "train-done").touch()
        else:
            seen.append(f"kb {argv[-1]}")
            run_all.subprocess.run(list(argv), check=True)

    monkeypatch.setattr(run_all, "_step", step)
    return seen


def test_four_cores_build_the_index_while_the_model_trains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_kb(tmp_path, monkeypatch)
    seen = _recording_steps(tmp_path, monkeypatch, wait_for_kb=True)
    run_all.train_and_index({"PATH": "/usr/bin:/bin"}, cores=4)
    assert seen == ["train (kb started: True)"]
    out = capsys.readouterr().out
    assert "building the knowledge index (no version is live yet), in the background" in out
    assert out.rstrip().endswith("kb build: live version is now v1")


def test_two_cores_train_first_then_build_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_kb(tmp_path, monkeypatch)
    (tmp_path / "train-done").touch()  # the fake kb need not wait
    seen = _recording_steps(tmp_path, monkeypatch, wait_for_kb=False)
    run_all.train_and_index({"PATH": "/usr/bin:/bin"}, cores=2)
    assert seen == ["train (kb started: False)", "kb build"]


def test_a_failed_index_build_stops_make_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_kb(tmp_path, monkeypatch, code=3)
    _recording_steps(tmp_path, monkeypatch, wait_for_kb=True)
    with pytest.raises(SystemExit, match="building the knowledge index .* failed .exit 3"):
        run_all.train_and_index({"PATH": "/usr/bin:/bin"}, cores=4)
