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

`make_run_layout` is what `make run` starts on embedded defaults (the closed-loop bench runs
"project" so): the replica counts and the balancer of runtime.settings.RuntimeSettings read from
an empty environment, the SQLite store and tracker, the in-memory lock store, and the services
around the bot from scripts/services.py (kb serve on a knowledge index built like `make run`'s,
kb watch, the analytics consumer, the dashboard, the e-mail receiver, the demo store page; no
Slack app without tokens), each on a free port.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import rasa

from runtime.settings import RuntimeSettings
from scripts.run_all import share_secrets
from scripts.services import Service, describe
from scripts.train import ensure_model
from web.serve import BUNDLE_PATH

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


# the services make run starts that the supervised stack of the bench starts itself
_STACK_SERVICES = ("rasa_", "action_server_", "haproxy")


@dataclass(frozen=True)
class MakeRunLayout:
    """`make run` on embedded defaults, placed in one run folder on free ports."""

    rasa_replicas: int
    action_replicas: int
    balancer: bool  # HAProxy in front of the action servers (make run: whenever installed)
    env: dict[str, str]
    services: tuple[Service, ...]  # besides Rasa, the action servers and HAProxy
    left_out: tuple[str, ...] = ()  # services make run would start that cannot run here, why

    def describe(self) -> str:
        rasa = "one Rasa server" if self.rasa_replicas == 1 else \
            f"{self.rasa_replicas} Rasa servers behind HAProxy"
        actions = (f"{self.action_replicas} action server(s)"
                   + (" behind HAProxy" if self.balancer else ""))
        lock = "Redis" if self.env.get("REDIS_URL") else "in-memory"
        others = ", ".join(s.name for s in self.services) or "nothing else"
        missing = "".join(f"; left out: {why}" for why in self.left_out)
        return (f"`make run` on embedded defaults: {rasa}, {actions}, SQLite tracker and order "
                f"store, {lock} lock store, SQL event broker; also {others}{missing}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def knowledge_index(log: Path) -> Path:
    """A knowledge index of the shipped articles built by `kb build` as make run builds it,
    kept in var/bench/ by the articles' fingerprint."""
    articles = ROOT / "knowledge" / "articles"
    digest = hashlib.sha256()
    for path in sorted(articles.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(articles)).encode() + b"\0" + path.read_bytes())
    folder = CACHE / f"kb-{digest.hexdigest()[:12]}"
    if not (folder / "LIVE").exists():
        folder.mkdir(parents=True, exist_ok=True)
        _say(f"building the knowledge index of the shipped articles into {folder}")
        _run([str(VENV_BIN / "kb"), "build"], ROOT, log, {**_env(ROOT), "KB_DIR": str(folder)})
    return folder


def make_run_layout(run_dir: Path, log: Path, redis_url: str = "") -> MakeRunLayout:
    """What `make run` starts with no settings of its own, for a bench run in `run_dir`.
    `redis_url` is used only when the default layout needs a shared lock store (several Rasa
    servers): make run refuses to start them without one."""
    defaults = RuntimeSettings.from_env({"REDIS_URL": redis_url} if redis_url else {})
    if defaults.rasa_replicas == 1:
        redis_url = ""
    kb_port, web_port, dashboard_port, mail_port = (_free_port() for _ in range(4))
    kb_dir = run_dir / "kb"
    shutil.copytree(knowledge_index(log), kb_dir, symlinks=True)
    env = {
        "DATABASE_URL": f"sqlite:///{run_dir / 'store.db'}",
        "KB_DIR": str(kb_dir), "KB_PORT": str(kb_port), "KB_URL": f"http://127.0.0.1:{kb_port}",
        "WEB_PORT": str(web_port), "DASHBOARD_PORT": str(dashboard_port),
        "MAIL_PORT": str(mail_port), "MAIL_SPOOL_DIR": str(run_dir / "mail"),
        # what make run keeps in var/ goes to the run folder, secrets too
        "ANALYTICS_DATABASE_URL": f"sqlite:///{run_dir / 'analytics.db'}",
        "SMTP_URL": f"file:{run_dir / 'mail' / 'sent'}",
    }
    if redis_url:
        env.update({"REDIS_URL": redis_url, "RASA_LOCK_PREFIX": f"bench{os.getpid()}"})
    # RASA_TOKEN, MAIL_WEBHOOK_TOKEN, KB_TOKEN, as make run passes them on; generated into the
    # run folder, so a bench (or its test) never leaves a kb_token that makes kb serve demand one
    share_secrets(env, run_dir / "secrets")
    # no Slack tokens: embedded defaults start no Slack app
    services = describe(env, defaults, run_dir / "endpoints.yml", run_dir)
    side = [s for s in services if not s.name.startswith(_STACK_SERVICES)]
    left_out = []
    if not BUNDLE_PATH.exists():  # the demo store page exits at once without it
        side = [s for s in side if s.name != "web"]
        left_out.append("the demo store page (no widget bundle: make setup-web installs it)")
        _say(f"leaving out {left_out[-1]}")
    return MakeRunLayout(rasa_replicas=defaults.rasa_replicas,
                         action_replicas=defaults.action_replicas,
                         balancer=defaults.actions_behind_balancer, env=env,
                         services=tuple(side), left_out=tuple(left_out))
