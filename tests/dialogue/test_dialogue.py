"""Dialogue checks with Rasa's own tools: data validation and test stories."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA = str(Path(sys.executable).parent / "rasa")
STORIES = Path(__file__).with_name("stories")
ENV_OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
               "RASA_TELEMETRY_ENABLED": "false"}


def _run(argv: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ, **ENV_OFFLINE)
    return subprocess.run(  # noqa: S603 - fixed argv
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_rasa_data_validate() -> None:
    result = _run([RASA, "data", "validate", "--domain", "domain", "--data", "data",
                   "--config", "config.yml"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "No story structure conflicts found" in result.stdout + result.stderr


@pytest.mark.slow
def test_bot_stories_predict_every_action(rasa_model: Path, tmp_path: Path) -> None:
    """The bot's flows by intent (stories/flows.yml) and typed in English, Swedish, Norwegian
    and Chinese (stories/stories_<language>.yml: the NLU reads the text), in one `rasa test`
    run with --fail-on-prediction-errors."""
    assert {p.name for p in STORIES.glob("*.yml")} >= {
        "flows.yml", *(f"stories_{language}.yml" for language in ("en", "sv", "nb", "zh"))}
    result = _run([RASA, "test", "core", "--model", str(rasa_model), "--stories", str(STORIES),
                   "--out", str(tmp_path / "results"), "--fail-on-prediction-errors"])
    output = result.stdout[-4000:] + result.stderr[-4000:]
    assert result.returncode == 0, output
    failed = tmp_path / "results" / "failed_test_stories.yml"
    assert not failed.exists() or "story:" not in failed.read_text(), failed.read_text()
