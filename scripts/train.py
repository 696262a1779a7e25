"""`make train`: train the Rasa model only when its inputs changed.

The inputs are config.yml, every YAML file under domain/ and data/, the source of the pipeline's
own components (nlu/*.py) and the settings that choose what they train with (`NLU_ENCODER`,
`NLU_ENGLISH_ENCODER`, `NLU_EMBEDDING_MODEL`: nlu.settings). Their SHA-256 is the model's name
(`models/nordvik-<hash>.tar.gz`), so an existing model with the same name is by definition up to
date and nothing is trained: `NLU_ENCODER=minilm make train` trains a MiniLM model, and
unsetting it again finds the e5 one. A file lock serialises concurrent trainings (for
example `make run` while the tests train).

Rasa's own check of the data before it trains (`rasa data validate`'s checks) is skipped: it
parses the domain, the stories and the NLU data a second time, some 20 s of one core of a
2-core machine that the training's e5 encoding needs, and a quiet training would only bury its
warnings in models/last_train.log. The check runs where someone reads it: the test suite
(tests/dialogue/test_dialogue.py) and the review routine before a retrained model goes live
(docs/ANALYTICS.md). Malformed YAML still fails the training, on the schema check of every file.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.embeddings import warming
from nlu.settings import NluSettings
from nordvik.env import SettingsError, process_env, source

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
MODEL_PREFIX = "nordvik-"
KEEP_OLD_MODELS = 2
WARM_CACHE_ARGS = ("-m", "nlu.warm_cache", "--config", "config.yml", "--data", "data")
WARM_CACHE_SECONDS = 900.0  # nlu.warm_cache gets this long; the featurizer does the rest
LOG_NAME = "last_train.log"  # in the models folder: Rasa's own output of the last training
LOG_TAIL_LINES = 40  # shown when a quiet training fails


class TrainingFailed(RuntimeError):
    """`rasa train` exited with an error."""


@dataclass(frozen=True)
class TrainOutcome:
    model: Path
    trained: bool
    seconds: float


def training_inputs(root: Path = ROOT) -> list[Path]:
    files = [root / "config.yml"]
    for folder in ("domain", "data"):
        files.extend(sorted((root / folder).rglob("*.yml")))
    files.extend(sorted((root / "nlu").rglob("*.py")))  # the pipeline's own components
    return files


def fingerprint(root: Path = ROOT, env: Mapping[str, str] | None = None) -> str:
    digest = hashlib.sha256()
    for path in training_inputs(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    # the NLU_* settings that change the model; a bad value raises SettingsError, as the
    # training itself would
    digest.update(NluSettings.from_env(source(env))
                  .training_identity().encode())
    return digest.hexdigest()[:16]


def model_path(models_dir: Path = MODELS_DIR, root: Path = ROOT) -> Path:
    return models_dir / f"{MODEL_PREFIX}{fingerprint(root)}.tar.gz"


@contextmanager
def _training_lock(models_dir: Path) -> Iterator[None]:
    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / ".train.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _prune(models_dir: Path, keep: Path) -> None:
    old = sorted(
        (p for p in models_dir.glob(f"{MODEL_PREFIX}*.tar.gz") if p != keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for path in old[KEEP_OLD_MODELS:]:
        path.unlink(missing_ok=True)


def _nlu_cache_dir(env: Mapping[str, str]) -> Path | None:
    """The NLU vector cache the training fills, or None when it is off."""
    settings = NluSettings.from_env(env)
    if not settings.cache_enabled:
        return None
    return settings.cache_dir if settings.cache_dir.is_absolute() else ROOT / settings.cache_dir


def _train_with_warm_cache(argv: list[str], env: dict[str, str], output: dict[str, Any]) -> int:
    """Run `rasa train` (argv) and, beside it, nlu.warm_cache, which encodes the training texts
    into the NLU cache while Rasa loads and prepares the data on one core; the featurizer waits
    for it. Returns rasa train's exit code. Without a cache, rasa train runs alone."""
    cache_dir = _nlu_cache_dir(env)
    if cache_dir is None:
        return subprocess.run(argv, cwd=ROOT, env=env, check=False, **output).returncode
    warm_argv = ["nice", "-n", "5", sys.executable, *WARM_CACHE_ARGS]
    warmer: subprocess.Popen[bytes] | None = None
    trainer: subprocess.Popen[bytes] | None = None
    try:
        with warming(cache_dir):
            warmer = subprocess.Popen(warm_argv, cwd=ROOT, env=env, **output)  # noqa: S603
            trainer = subprocess.Popen(argv, cwd=ROOT, env=env, **output)  # noqa: S603
            deadline = time.monotonic() + WARM_CACHE_SECONDS
            while (warmer.poll() is None and trainer.poll() is None
                   and time.monotonic() < deadline):
                time.sleep(0.2)
            if warmer.poll() is None:  # the training ended first, or the warmer is stuck
                warmer.terminate()
                warmer.wait()
        return trainer.wait()
    finally:  # stopped (Ctrl-C): no child outlives the trainer
        for child in (warmer, trainer):
            if child is not None and child.poll() is None:
                child.terminate()
                child.wait()


def ensure_model(
    *, force: bool = False, models_dir: Path = MODELS_DIR, quiet: bool = False
) -> TrainOutcome:
    """Return an up-to-date model, training one (niced) if the inputs changed."""
    started = time.monotonic()
    with _training_lock(models_dir):
        target = model_path(models_dir)
        if target.exists() and not force:
            target.touch()  # newest model is the one `rasa run --model models` loads
            return TrainOutcome(target, trained=False, seconds=time.monotonic() - started)
        argv = [  # Rasa's `train` through the launcher: runtime.rasa_speedups.install_training
            "nice", "-n", "5", sys.executable, "-m", "rasa_addons.rasa_server", "train",
            "--domain", "domain", "--data", "data", "--config", "config.yml",
            "--out", str(models_dir), "--fixed-model-name", target.name.removesuffix(".tar.gz"),
            "--force", "--skip-validation",  # see the module's doc
        ]
        env = process_env(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2",
                          RASA_MAX_CACHE_SIZE="0")
        log_path = models_dir / LOG_NAME
        with open(log_path, "wb") as log:
            output: dict[str, Any] = (
                {"stdout": log, "stderr": subprocess.STDOUT} if quiet else {}
            )
            returncode = _train_with_warm_cache(argv, env, output)
        if returncode != 0 or not target.exists():
            where = (f"its last lines, from {log_path}:\n{log_tail(log_path)}" if quiet
                     else "see the output above")
            raise TrainingFailed(f"rasa train failed (exit {returncode}); {where}")
        _prune(models_dir, target)
        return TrainOutcome(target, trained=True, seconds=time.monotonic() - started)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a training log (progress bars' carriage returns folded)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        return f"(the log could not be read: {error.strerror})"
    kept = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return "\n".join(kept[-lines:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the Rasa model if its inputs changed.")
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    parser.add_argument("--verbose", action="store_true",
                        help=f"show Rasa's own output instead of keeping it in models/{LOG_NAME}")
    args = parser.parse_args(argv)
    try:
        if args.force or not model_path().exists():
            where = "below" if args.verbose else f"in models/{LOG_NAME}"
            print(f"train: training the model (about 3 minutes on 2 cores; Rasa's output "
                  f"{where})", flush=True)
        outcome = ensure_model(force=args.force, quiet=not args.verbose)
    except (TrainingFailed, SettingsError) as error:
        print(f"train: {error}", file=sys.stderr)
        return 1
    rel = outcome.model.relative_to(ROOT) if outcome.model.is_relative_to(ROOT) else outcome.model
    if outcome.trained:
        print(f"train: trained {rel} in {outcome.seconds:.0f} s")
    else:
        print(f"train: nothing changed in config.yml, domain/, data/, nlu/ or the NLU_* encoder "
              f"settings; using {rel}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
