"""`make run`: prepare whatever is missing, then run every service until Ctrl-C.

Steps: load `.env`, migrate and seed the order/CRM store, train the Rasa model if its inputs
changed, build the knowledge index if no version is live, write Rasa's effective endpoints file,
then start the action server, the Rasa server, `kb serve`, the demo web page and (when Slack
tokens are configured) the Slack app. Ctrl-C or any service dying stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Service:
    name: str
    argv: list[str]
    ready_url: str | None
    startup_seconds: float = 180.0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


def _say(message: str) -> None:
    print(f"run: {message}", flush=True)


def _step(title: str, argv: Sequence[str], env: dict[str, str]) -> None:
    _say(title)
    result = subprocess.run(list(argv), cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run: '{title}' failed (exit {result.returncode}); nothing was started")


def _load_env() -> dict[str, str]:
    env = dict(os.environ)
    dotenv = ROOT / ".env"
    if dotenv.exists():
        from dotenv import dotenv_values

        for key, value in dotenv_values(dotenv).items():
            if value is not None and key not in os.environ:
                env[key] = value
        _say("loaded settings from .env")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return bool(response.status < 500)
    except (urllib.error.URLError, OSError):
        return False


def _start(service: Service, env: dict[str, str]) -> None:
    _say(f"starting {service.name}: {' '.join(service.argv)}")
    service.process = subprocess.Popen(  # noqa: S603 - fixed argv
        service.argv, cwd=ROOT, env=env, start_new_session=True
    )


def _wait_ready(service: Service) -> None:
    if service.ready_url is None or service.process is None:
        return
    deadline = time.monotonic() + service.startup_seconds
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise SystemExit(
                f"run: {service.name} exited with code {service.process.returncode} during start-up"
            )
        if _ready(service.ready_url):
            _say(f"{service.name} is up ({service.ready_url})")
            return
        time.sleep(0.5)
    raise SystemExit(f"run: {service.name} was not ready within {service.startup_seconds:.0f} s")


def _stop(services: Sequence[Service]) -> None:
    running = [s for s in services if s.process is not None and s.process.poll() is None]
    for service in running:
        assert service.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(service.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for service in running:
        assert service.process is not None
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()
    if running:
        _say("stopped " + ", ".join(s.name for s in running))


def _live_kb_version(env: dict[str, str]) -> str | None:
    from kb_index.settings import KbSettings
    from kb_index.versions import VersionStore

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return VersionStore(KbSettings.from_env().kb_dir).live_name()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _services(env: dict[str, str]) -> list[Service]:
    from scripts.rasa_env import write_endpoints

    rasa = str(VENV_BIN / "rasa")
    rasa_port = env.get("RASA_PORT", "5005")
    action_port = env.get("ACTION_PORT", "5055")
    kb_port = env.get("KB_PORT", "8900")
    web_port = env.get("WEB_PORT", "8080")
    endpoints = write_endpoints(env)
    services = [
        Service(
            "action server",
            [rasa, "run", "actions", "--port", action_port],
            f"http://127.0.0.1:{action_port}/health",
        ),
        Service(
            "knowledge service",
            [str(VENV_BIN / "kb"), "serve", "--host", "127.0.0.1", "--port", kb_port],
            f"http://127.0.0.1:{kb_port}/healthz",
        ),
        Service(
            "knowledge watcher",
            [str(VENV_BIN / "kb"), "watch", "--interval", "2"],
            None,
        ),
        Service(
            "Rasa server",
            [
                rasa, "run", "--enable-api", "--cors", "*", "--port", rasa_port,
                "--interface", env.get("RASA_HOST", "127.0.0.1"),
                "--model", "models", "--endpoints", str(endpoints),
                "--credentials", "credentials.yml",
            ],
            f"http://127.0.0.1:{rasa_port}/status",
            startup_seconds=300,
        ),
        Service(
            "demo store page",
            [sys.executable, "-m", "web.serve", "--port", web_port],
            f"http://127.0.0.1:{web_port}/",
        ),
    ]
    from bot.settings import SlackSettings

    missing = SlackSettings.from_env(env).missing()
    if missing:
        _say(f"skipping the Slack app: {missing} (see bot/README.md)")
    else:
        services.append(Service("Slack app", [sys.executable, "-m", "bot"], None))
    return services


def _print_usage(env: dict[str, str]) -> None:
    rasa_port = env.get("RASA_PORT", "5005")
    web_port = env.get("WEB_PORT", "8080")
    kb_port = env.get("KB_PORT", "8900")
    rest = f"http://localhost:{rasa_port}/webhooks/rest/webhook"
    print(
        f"""
Nordvik support is running.
  Chat widget (demo store):  http://localhost:{web_port}/
  Rasa REST channel:         {rest}
  Knowledge search:          http://localhost:{kb_port}/search?q=return+window
Talk to the bot:
  curl -s {rest} -H 'Content-Type: application/json' \\
       -d '{{"sender": "me", "message": "where is my order?"}}'
  (sample order numbers with their e-mails are listed above, under the store step)
Press Ctrl-C to stop everything.
""",
        flush=True,
    )


def main() -> int:
    env = _load_env()
    python = sys.executable
    _step(
        "preparing the order/CRM store (migrate, seed if empty)",
        [python, "-m", "store.cli", "seed"],
        env,
    )
    _step("training the Rasa model if its data or config changed",
          [python, "-m", "scripts.train"], env)
    kb = str(VENV_BIN / "kb")
    if _live_kb_version(env) is None:
        _step("building the knowledge index (no version is live yet)", [kb, "build"], env)
    else:
        _step("updating the knowledge index with changed articles", [kb, "update"], env)

    services = _services(env)
    interrupted = False

    def _on_signal(signum: int, _frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        for service in services:
            _start(service, env)
        for service in services:
            _wait_ready(service)
        _print_usage(env)
        while True:
            for service in services:
                if service.process is not None and service.process.poll() is not None:
                    _say(f"{service.name} stopped unexpectedly (exit {service.process.returncode})")
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    finally:
        _stop(services)


if __name__ == "__main__":
    sys.exit(main())
