"""A real `kb serve` on a knowledge index built from the shipped articles, for bot tests.

    settings = build_shipped_index(tmp_path / "kb")      # the default model, ~1-3 min of CPU
    with running_kb_serve(settings, tmp_path / "kb.log") as server:
        ...                                              # server.url answers /search
        with server.stopped():                           # "the knowledge service is down"
            ...

The index is built into the given directory (never var/), with the project's default model
(multilingual-e5-small through nordvik.e5, or whatever KB_MODEL names) and knowledge/articles.
`kb serve` runs as a subprocess of this interpreter on a free loopback port; stopping and
starting it again keeps the port, so a client configured once (the action server's KB_URL)
reaches it again after the restart.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kb_index.builder import build
from kb_index.settings import KbSettings
from tests.support.rasa_stack import free_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_ARTICLES = ROOT / "knowledge" / "articles"
STARTUP_SECONDS = 120.0


def shipped_index_settings(kb_dir: Path) -> KbSettings:
    """The settings of an index of the shipped articles, with the configured model, in `kb_dir`."""
    return dataclasses.replace(KbSettings.from_env(), source=SHIPPED_ARTICLES, kb_dir=kb_dir)


def build_shipped_index(kb_dir: Path) -> KbSettings:
    """Build the shipped articles into `kb_dir` with the configured model; its settings."""
    settings = shipped_index_settings(kb_dir)
    build(settings)
    return settings


def article_language(article_id: str) -> str:
    """The language folder (en, sv, nb, zh) of a shipped article, by its front-matter id."""
    for path in SHIPPED_ARTICLES.glob("*/*.md"):
        for line in path.read_text(encoding="utf-8").splitlines()[:12]:
            if line.strip() == f"id: {article_id}":
                return path.parent.name
    raise KeyError(f"no shipped article has id {article_id!r}")


@dataclass
class KbServer:
    """`kb serve` for one index directory on one fixed loopback port."""

    settings: KbSettings
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KB_DIR": str(self.settings.kb_dir),
            "KB_SOURCE": str(self.settings.source),
            "KB_MODEL": self.settings.model,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": str(ROOT),
        }

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "kb_index.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                cwd=ROOT, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.healthy():
            if self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"kb serve exited with {self.process.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise AssertionError(f"kb serve not healthy after {STARTUP_SECONDS:.0f} s")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """The service is not running inside the block; it runs again after it."""
        self.stop()
        assert not self.healthy(), f"something still answers on {self.url}"
        try:
            yield
        finally:
            self.start()


@contextmanager
def running_kb_serve(settings: KbSettings, log: Path) -> Iterator[KbServer]:
    server = KbServer(settings=settings, log=log)
    server.start()
    try:
        yield server
    finally:
        server.stop()
