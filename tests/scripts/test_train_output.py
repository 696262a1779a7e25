"""`make train` and `make run` keep Rasa's own training output in models/last_train.log and
print one line before and one after; a failed training shows the log's last lines."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from scripts import train


def _fake_rasa(lines: int, code: int, target: Path | None) -> Any:
    """A stand-in for `rasa train` beside its warmer: writes `lines` lines of noise where
    its output goes, makes the model file unless it fails."""

    def run(argv: list[str], env: dict[str, str], output: dict[str, Any]) -> int:
        noise = "".join(f"rasa noise {n}\n" for n in range(lines))
        if "stdout" in output:
            output["stdout"].write(noise.encode())
        else:
            sys.stdout.write(noise)
        if target is not None and code == 0:
            target.write_bytes(b"model")
        return code

    return run


def test_a_failed_quiet_training_shows_the_logs_last_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "_train_with_warm_cache", _fake_rasa(50, 2, None))
    with pytest.raises(train.TrainingFailed) as failed:
        train.ensure_model(force=True, models_dir=tmp_path, quiet=True)
    message = str(failed.value)
    assert "exit 2" in message and str(tmp_path / train.LOG_NAME) in message
    assert "rasa noise 49" in message and "rasa noise 10" in message
    assert "rasa noise 9\n" not in message  # only the last 40 lines


def test_a_quiet_training_keeps_rasas_output_in_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    target = train.model_path(tmp_path)
    monkeypatch.setattr(train, "_train_with_warm_cache", _fake_rasa(5, 0, target))
    outcome = train.ensure_model(force=True, models_dir=tmp_path, quiet=True)
    assert outcome.trained and outcome.model == target
    assert "rasa noise" not in capsys.readouterr().out
    assert (tmp_path / train.LOG_NAME).read_text(encoding="utf-8").count("rasa noise") == 5


@pytest.mark.parametrize(("argv", "quiet", "where"), [
    ([], True, f"in models/{train.LOG_NAME}"),
    (["--verbose"], False, "below"),
])
def test_make_train_says_where_rasas_output_goes(
        argv: list[str], quiet: bool, where: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    asked: dict[str, Any] = {}
    model = tmp_path / "nordvik-x.tar.gz"

    def ensure(**kwargs: Any) -> train.TrainOutcome:
        asked.update(kwargs)
        return train.TrainOutcome(model, trained=True, seconds=3.0)

    monkeypatch.setattr(train, "model_path", lambda: model)  # no model yet: it will train
    monkeypatch.setattr(train, "ensure_model", ensure)
    assert train.main(argv) == 0
    out = capsys.readouterr().out
    assert asked["quiet"] is quiet
    assert f"train: training the model (about 3 minutes on 2 cores; Rasa's output {where})" in out
    assert "train: trained" in out and "in 3 s" in out


def test_a_log_that_cannot_be_read_is_said_so(tmp_path: Path) -> None:
    assert train.log_tail(tmp_path / "missing.log").startswith("(the log could not be read")
