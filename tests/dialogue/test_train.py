"""scripts/train.py trains only when config.yml, domain/ or data/ changed."""

from __future__ import annotations

import shutil
from pathlib import Path

from scripts.train import ROOT, ensure_model, fingerprint, model_path


def copy_project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(ROOT / "config.yml", root / "config.yml")
    shutil.copytree(ROOT / "domain", root / "domain")
    shutil.copytree(ROOT / "data", root / "data")
    return root


def test_fingerprint_changes_with_training_data_only(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    before = fingerprint(root)
    (root / "README.txt").write_text("not a training input")
    assert fingerprint(root) == before
    faq = root / "data" / "nlu" / "en" / "faq.yml"
    faq.write_text(faq.read_text() + "\n    - how much is delivery to iceland\n")
    assert fingerprint(root) != before


def test_existing_model_for_the_same_inputs_is_reused(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    expected = model_path(models)
    expected.write_bytes(b"placeholder: a model for exactly these inputs")
    outcome = ensure_model(models_dir=models)
    assert outcome.trained is False
    assert outcome.model == expected
