"""scripts/train.py trains only when config.yml, domain/, data/, nlu/ or the NLU_* encoder
settings changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.train import ROOT, ensure_model, fingerprint, main, model_path


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "config.yml", root / "config.yml")
    shutil.copytree(ROOT / "domain", root / "domain")
    shutil.copytree(ROOT / "data", root / "data")
    shutil.copytree(ROOT / "nlu", root / "nlu", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def test_fingerprint_changes_with_training_data_only(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    before = fingerprint(root, {})
    (root / "README.txt").write_text("not a training input")
    assert fingerprint(root, {}) == before
    faq = root / "data" / "nlu" / "en" / "faq.yml"
    faq.write_text(faq.read_text() + "\n    - how much is delivery to iceland\n")
    assert fingerprint(root, {}) != before


def test_fingerprint_changes_with_the_pipelines_own_code(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    before = fingerprint(root, {})
    classifier = root / "nlu" / "classifiers.py"
    classifier.write_text(classifier.read_text() + "\n# a change to how intents are learnt\n")
    assert fingerprint(root, {}) != before


def test_switching_the_encoder_by_environment_gives_another_model(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    default = fingerprint(root, {})
    minilm = fingerprint(root, {"NLU_ENCODER": "minilm"})
    assert minilm != default
    assert fingerprint(root, {"NLU_ENCODER": "MiniLM"}) == minilm  # read as nlu.settings reads it
    assert fingerprint(root, {"NLU_ENGLISH_ENCODER": "minilm"}) not in (default, minilm)
    # settings that do not change the trained model do not retrain it
    assert fingerprint(root, {"NLU_CACHE_DIR": str(tmp_path / "elsewhere")}) == default
    assert fingerprint(root, {"NLU_PARSE_CACHE_SIZE": "0"}) == default


def test_a_bad_encoder_setting_is_a_clear_error_and_trains_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NLU_ENCODER", "bert")
    assert main([]) == 1
    error = capsys.readouterr().err
    assert "NLU_ENCODER='bert'" in error and "e5, minilm" in error


def test_existing_model_for_the_same_inputs_is_reused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    expected = model_path(models)
    expected.write_bytes(b"placeholder: a model for exactly these inputs")
    outcome = ensure_model(models_dir=models)
    assert outcome.trained is False
    assert outcome.model == expected
