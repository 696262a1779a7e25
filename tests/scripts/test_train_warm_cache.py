"""scripts/train.py runs nlu.warm_cache beside `rasa train`, and the training's featurizer reads
the cache only once the warmer is done."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scripts import train

# The stand-in for rasa train waits as the featurizer does, then checks the warmer finished.
_TRAINER = ("import sys; from pathlib import Path; from nlu.embeddings import wait_for_warming\n"
            "cache = Path(sys.argv[1]); wait_for_warming(cache)\n"
            "sys.exit(0 if (cache / 'warmed').read_text() == 'all' else 1)")
_WARMER = ("import sys, time; from pathlib import Path\n"
           "time.sleep(1); Path(sys.argv[1], 'warmed').write_text('all')")


def _env(cache: Path, **extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(train.ROOT), "NLU_CACHE_DIR": str(cache),
            **extra}


def test_the_training_reads_the_cache_after_the_warmer(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "WARM_CACHE_ARGS", ("-c", _WARMER, str(tmp_path)))
    code = train._train_with_warm_cache([sys.executable, "-c", _TRAINER, str(tmp_path)],
                                        _env(tmp_path), {})
    assert code == 0
    assert (tmp_path / "warmed").read_text() == "all"


def test_no_warmer_without_a_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "WARM_CACHE_ARGS", ("-c", _WARMER, str(tmp_path)))
    code = train._train_with_warm_cache(
        [sys.executable, "-c", "import sys; sys.exit(7)"],
        _env(tmp_path, NLU_FEATURE_CACHE="0"), {})
    assert code == 7
    assert not (tmp_path / "warmed").exists()


def test_a_failing_warmer_does_not_fail_the_training(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(train, "WARM_CACHE_ARGS", ("-c", "import sys; sys.exit(3)"))
    trainer = ("import sys; from pathlib import Path; from nlu.embeddings import wait_for_warming\n"
               "wait_for_warming(Path(sys.argv[1]))")
    code = train._train_with_warm_cache([sys.executable, "-c", trainer, str(tmp_path)],
                                        _env(tmp_path), {})
    assert code == 0
