"""The handoff and CSAT test stories (handoff_stories.yml, csat_stories.yml) with Rasa's own
`rasa test core --fail-on-prediction-errors`, on the session's trained model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures import rasa_model  # noqa: F401 (the session's model fixture)

HERE = Path(__file__).resolve().parent
RASA = str(Path(sys.executable).parent / "rasa")
STORY_FILES = ("handoff_stories.yml", "csat_stories.yml")


@pytest.mark.slow
def test_handoff_and_csat_stories_predict_every_action(rasa_model: Path,  # noqa: F811
                                                       tmp_path: Path) -> None:
    stories = tmp_path / "stories"
    stories.mkdir()
    for name in STORY_FILES:
        shutil.copy(HERE / name, stories / name)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(  # noqa: S603 - fixed argv
        [RASA, "test", "core", "--model", str(rasa_model), "--stories", str(stories),
         "--out", str(tmp_path / "results"), "--fail-on-prediction-errors"],
        cwd=HERE.parents[1], env=env, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = tmp_path / "results" / "failed_test_stories.yml"
    assert failed.exists() and "story:" not in failed.read_text(), failed.read_text()
