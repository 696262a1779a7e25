"""The three assistants `make bench-chat` compares on the same machine, in the same run.

- project: this working tree, laid out as `make run` lays it out (supervisord, HAProxy in front
  of the action servers, RASA_REPLICAS Rasa servers and ACTION_REPLICAS action servers).
- today: the tree at BASELINE_COMMIT (the commit before the runtime work: its pipeline,
  policies, domain, data and actions), exported with `git archive` into var/bench/ and trained
  there; one Rasa server and `rasa run actions`, as its `make run` started them.
- plain: a `rasa init --no-prompt` assistant (Rasa's default pipeline and policies), created
  and trained in var/bench/plain; one Rasa server, no action server.

Trained models are kept under var/bench/ keyed by what they were trained from, so a second run
does not train again. Every system gets an order store seeded by its own `store seed`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "bench"
VENV_BIN = Path(sys.executable).parent
BASELINE_COMMIT = "f19058d"


class BenchSetupError(RuntimeError):
    """A system could not be prepared (export, training or seeding failed)."""


@dataclass(frozen=True)
class PreparedSystem:
    key: str
    title: str
    root: Path
    model: Path
    has_actions: bool
    commit: str


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"})
    return env


def _run(argv: list[str], cwd: Path, log: Path, env: dict[str, str] | None = None) -> None:
    with open(log, "ab") as out:
        result = subprocess.run(argv, cwd=cwd, env=env or _env(cwd), stdout=out,  # noqa: S603
                                stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise BenchSetupError(f"{' '.join(argv[:4])} failed in {cwd} (exit "
                              f"{result.returncode}); end of {log}:\n{tail}")


def _say(message: str) -> None:
    print(f"bench-chat: {message}", flush=True)


def head_commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,  # noqa: S607
                            capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
                           cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
    return result.stdout.strip() + ("+uncommitted changes" if dirty else "")


def project(model: Path | None = None) -> PreparedSystem:
    """This tree with its model (trained if its inputs changed), or with `model` if given."""
    if model is None:
        from scripts.train import ensure_model

        _say("training this tree's model if its inputs changed")
        model = ensure_model().model
    return PreparedSystem("project", "this tree", ROOT, model, True, head_commit())


def today(commit: str = BASELINE_COMMIT) -> PreparedSystem:
    """The tree at `commit`, exported and trained once into var/bench/today-<commit>."""
    folder = CACHE / f"today-{commit}"
    model = folder / "models" / "today.tar.gz"
    if not model.exists():
        folder.mkdir(parents=True, exist_ok=True)
        log = CACHE / f"today-{commit}.log"
        if not (folder / "config.yml").exists():
            _say(f"exporting {commit} into {folder}")
            archive = subprocess.run(["git", "archive", commit], cwd=ROOT,  # noqa: S607
                                     capture_output=True, check=False)
            if archive.returncode != 0:
                raise BenchSetupError(f"git archive {commit} failed: {archive.stderr.decode()}")
            subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout,  # noqa: S607
                           check=True)
        _say(f"training the model of {commit} (once; several minutes on two cores)")
        _run(["nice", "-n", "10", str(VENV_BIN / "rasa"), "train", "--config", "config.yml",
              "--domain", "domain", "--data", "data", "--out", "models",
              "--fixed-model-name", "today"], folder, log)
    return PreparedSystem("today", f"today ({commit})", folder, model, True, commit)


def plain() -> PreparedSystem:
    """`rasa init --no-prompt` (it trains as part of init) in var/bench/plain."""
    import rasa

    folder = CACHE / f"plain-rasa-{rasa.__version__}"
    models = sorted((folder / "models").glob("*.tar.gz")) if folder.exists() else []
    if not models:
        folder.mkdir(parents=True, exist_ok=True)
        _say(f"creating and training a plain `rasa init` assistant in {folder}")
        _run(["nice", "-n", "10", str(VENV_BIN / "rasa"), "init", "--no-prompt",
              "--init-dir", str(folder)], folder, CACHE / "plain.log")
        models = sorted((folder / "models").glob("*.tar.gz"))
        if not models:
            raise BenchSetupError(f"rasa init left no model in {folder / 'models'}")
    return PreparedSystem("plain", f"plain rasa init (Rasa {rasa.__version__})", folder,
                          models[-1], False, "rasa init")


def seed_store(system: PreparedSystem, database_url: str, log: Path) -> list[tuple[str, str, str]]:
    """Seed `database_url` with the system's own `store seed`; (number, e-mail, status) samples."""
    env = {**_env(system.root), "DATABASE_URL": database_url}
    _run([sys.executable, "-m", "store.cli", "seed"], system.root, log, env)
    script = ("import json, store; print(json.dumps(store.get_store().sample_orders("
              "per_status=3)))")
    result = subprocess.run([sys.executable, "-c", script], cwd=system.root, env=env,  # noqa: S603
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchSetupError(f"sampling orders failed: {result.stderr[-2000:]}")
    rows = json.loads(result.stdout.strip().splitlines()[-1])
    return [(number, email, status) for status, number, email in rows]


def fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
