"""supervisord from the service description: a killed service is restarted and logged, the
others keep running, a service whose health check fails is restarted by the watchdog, and
stopping supervisord stops everything. Real supervisord, tiny HTTP services on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime import supervisor
from scripts.services import Service
from tests.support.rasa_stack import free_port

ROOT = Path(__file__).resolve().parents[2]
FAKE = str(Path(__file__).with_name("fake_service.py"))
SUPERVISORD = str(Path(sys.executable).parent / "supervisord")
PASSWORD = "test-password-0123456789"


def _pid(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
            return int(response.read())
    except urllib.error.HTTPError as error:
        return int(error.read() or 0) or None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait(predicate: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


@dataclass
class Running:
    run_dir: Path
    daemon: subprocess.Popen[bytes]
    urls: dict[str, str]
    states: dict[str, Path]
    client: supervisor.SupervisorClient


@pytest.fixture()
def running(tmp_path: Path) -> Iterator[Running]:
    run_dir = tmp_path / "run"
    urls, states, services = {}, {}, []
    for name in ("alpha", "beta"):
        port = free_port()
        states[name] = tmp_path / f"{name}.state"
        urls[name] = f"http://127.0.0.1:{port}/health"
        services.append(Service(name=name, title=f"service {name}",
                                argv=(sys.executable, FAKE, str(port), str(states[name])),
                                health_url=urls[name], startup_seconds=10))
    conf = supervisor.write(
        services, run_dir=run_dir, workdir=ROOT, password=PASSWORD,
        watchdog_argv=[sys.executable, "-m", "runtime.watchdog", "--run-dir", str(run_dir)],
    )
    env = {**os.environ, "SUPERVISOR_PASSWORD": PASSWORD, "WATCHDOG_INTERVAL": "0.5",
           "WATCHDOG_FAILURES": "2", "WATCHDOG_UNHEALTHY_SECONDS": "1",
           "PYTHONPATH": str(ROOT)}
    env.pop("RASA_REPLICAS", None)
    daemon = subprocess.Popen([SUPERVISORD, "-c", str(conf)], cwd=ROOT, env=env,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for url in urls.values():
            _wait(lambda u=url: _pid(u) is not None, 30, f"{url} to answer")
        watchdog_log = run_dir / "logs" / "watchdog.log"
        _wait(lambda: watchdog_log.exists() and "watching 2 services" in watchdog_log.read_text(),
              30, "the watchdog to start")
        time.sleep(1.0)  # its first round of checks has seen every pid
        yield Running(run_dir, daemon, urls, states,
                      supervisor.SupervisorClient(run_dir, PASSWORD))
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(timeout=60)


def test_config_is_private_and_names_every_program(tmp_path: Path) -> None:
    service = Service(name="web", title="page", argv=("python", "-m", "x", "--fmt", "50%"),
                      env=(("A", 'quote " and 100%'),))
    conf = supervisor.write([service], run_dir=tmp_path, workdir=ROOT, password="pw-%-secret")
    text = conf.read_text()
    assert conf.stat().st_mode & 0o777 == 0o600
    assert "[program:web]" in text and "autorestart=true" in text
    assert "--fmt 50%%" in text and 'A="quote \\" and 100%%"' in text
    assert "password=pw-%%-secret" in text


def test_bad_service_names_are_refused() -> None:
    with pytest.raises(ValueError, match="must match"):
        Service(name="Rasa server", title="x", argv=("rasa",))
    with pytest.raises(ValueError, match="empty command"):
        Service(name="rasa", title="x", argv=())


@pytest.mark.integration
@pytest.mark.slow
def test_killed_service_restarts_while_others_keep_running(running: Running) -> None:
    alpha_pid, beta_pid = _pid(running.urls["alpha"]), _pid(running.urls["beta"])
    assert alpha_pid and beta_pid
    os.kill(alpha_pid, signal.SIGKILL)
    _wait(lambda: _pid(running.urls["alpha"]) not in (None, alpha_pid), 30, "alpha to restart")
    assert _pid(running.urls["beta"]) == beta_pid  # untouched
    log = running.run_dir / "supervisord.log"
    _wait(lambda: "exited: alpha (terminated by SIGKILL" in log.read_text(), 10,
          "supervisord to log the exit")
    watchdog_log = running.run_dir / "logs" / "watchdog.log"
    _wait(lambda: "service alpha restarted" in watchdog_log.read_text(), 10,
          "the watchdog to log the restart")

    # a hung/sick service (running, but its health check fails) is restarted by the watchdog
    sick_pid = _pid(running.urls["alpha"])
    running.states["alpha"].write_text("sick")
    _wait(lambda: "service alpha failed its health check" in watchdog_log.read_text(), 20,
          "the watchdog to notice the failing health check")
    running.states["alpha"].write_text("well")
    _wait(lambda: _pid(running.urls["alpha"]) not in (None, sick_pid), 30,
          "alpha to be restarted")
    assert _pid(running.urls["beta"]) == beta_pid
    states = {name: info["statename"] for name, info in running.client.processes().items()}
    assert states["alpha"] in ("STARTING", "RUNNING")
    assert states["beta"] == states["watchdog"] == "RUNNING"

    # stopping supervisord (what Ctrl-C does) stops every service
    running.daemon.send_signal(signal.SIGINT)
    running.daemon.wait(timeout=60)
    _wait(lambda: _pid(running.urls["alpha"]) is None and _pid(running.urls["beta"]) is None,
          10, "every service to stop")
