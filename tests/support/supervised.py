"""A real, supervised bot on free loopback ports: N Rasa servers and M action servers under
supervisord, with HAProxy in front as `make run` lays them out (runtime/, scripts/services.py).

    with supervised_stack(StackSpec(run_dir=tmp, model=model, env={...}, rasa_replicas=2)) as s:
        s.say("customer-1", "where is my order?")
        s.kill("action_server_0")        # SIGKILL; supervisord restarts it

Used by the runtime fault tests and by `make bench-chat`, which also runs older trees and a
plain `rasa init` assistant through it (`root`, `action_argv`, `endpoints`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runtime import haproxy, supervisor
from runtime.settings import RuntimeSettings
from scripts.services import Service
from tests.support.rasa_stack import StackStartError, free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PASSWORD = "supervised-stack-test-password"


def project_action_argv(port: int) -> tuple[str, ...]:
    """The project's action server, as make run starts it (scripts/services.py)."""
    from scripts.services import action_server_argv

    return action_server_argv(port)


def rasa_sdk_action_argv(port: int) -> tuple[str, ...]:
    """`rasa run actions` as trees before the runtime work started it."""
    return (str(VENV_BIN / "rasa"), "run", "actions", "--port", str(port), "--actions", "actions")


@dataclass
class StackSpec:
    run_dir: Path
    model: Path
    env: Mapping[str, str] = field(default_factory=dict)
    root: Path = ROOT  # the code: actions/, credentials.yml, custom components
    rasa_replicas: int = 1
    action_replicas: int = 1  # 0: no action server (a plain assistant)
    action_argv: Callable[[int], tuple[str, ...]] = project_action_argv
    balancer: bool = True  # HAProxy in front of the action servers (and of several Rasas)
    endpoints: Callable[[Mapping[str, str], str, Path], Path] | None = None
    credentials: Path | None = None
    startup_seconds: float = 300.0
    extra_services: tuple[Service, ...] = ()  # e.g. kb serve, supervised with the rest


@dataclass
class SupervisedStack:
    spec: StackSpec
    base_url: str
    action_url: str
    tracker_url: str  # the SQL tracker store (SQLite file or PostgreSQL), for SQLAlchemy
    rasa_ports: list[int]
    action_ports: list[int]
    client: supervisor.SupervisorClient
    daemon: subprocess.Popen[bytes]

    @property
    def rest_url(self) -> str:
        return f"{self.base_url}/webhooks/rest/webhook"

    def say(self, sender: str, text: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        request = urllib.request.Request(
            self.rest_url, data=json.dumps({"sender": sender, "message": text}).encode(),
            method="POST", headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return list(json.loads(response.read().decode() or "[]"))

    def pid(self, name: str) -> int:
        return int(self.client.processes()[name]["pid"])

    def kill(self, name: str) -> int:
        """SIGKILL a service's process; returns the pid that was killed."""
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_healthy(self, url: str, seconds: float | None = None) -> None:
        _wait_url(url, seconds or self.spec.startup_seconds, self.daemon, self.spec.run_dir)

    def log(self, name: str) -> str:
        path = self.spec.run_dir / "logs" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def user_events(self, sender: str) -> list[str]:
        """The user messages stored for `sender` in the tracker store, oldest first."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.tracker_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(text(
                    "SELECT data FROM events WHERE sender_id = :sender AND type_name = 'user' "
                    "ORDER BY id"), {"sender": sender}).fetchall()
        finally:
            engine.dispose()
        return [str(json.loads(data).get("text")) for (data,) in rows]


def _ok(url: str, expect: str = "") -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - loopback
            return bool(response.status == 200) and expect in response.read().decode()
    except (urllib.error.URLError, OSError):
        return False


def _wait_url(url: str, seconds: float, daemon: subprocess.Popen[bytes], run_dir: Path,
              expect: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise StackStartError(f"supervisord exited ({daemon.returncode}); see {run_dir}")
        if _ok(url, expect):
            return
        time.sleep(0.5)
    logs = run_dir / "logs"
    tails = "\n".join(
        f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
        for p in sorted(logs.glob("*.log"))
    )
    raise StackStartError(f"{url} not healthy after {seconds:.0f} s\n{tails}")


def _warm_up(rest_url: str) -> None:
    request = urllib.request.Request(
        rest_url, data=json.dumps({"sender": "warm-up", "message": "hi"}).encode(),
        method="POST", headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=180) as response:  # noqa: S310 - loopback
            response.read()
    except (urllib.error.URLError, OSError):
        pass  # the tests and the bench see what a customer would see


def default_endpoints(env: Mapping[str, str], action_url: str, path: Path) -> Path:
    """The project's endpoints file (scripts/rasa_env.py) for this stack."""
    from scripts.rasa_env import write_endpoints

    return write_endpoints({**env, "ACTION_SERVER_URL": action_url}, path)


def plain_endpoints(env: Mapping[str, str], action_url: str, path: Path) -> Path:
    """SQLite tracker store, in-memory or Redis lock store: for trees without rasa_env."""
    config: dict[str, Any] = {
        "action_endpoint": {"url": action_url},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": env["TRACKER_DB"]},
        "lock_store": {"type": "in_memory"},
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@contextmanager
def supervised_stack(spec: StackSpec) -> Iterator[SupervisedStack]:
    run_dir = spec.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "ACTION_SERVER_URL", "TRACKER_DB", "RASA_REPLICAS",
                        "ACTION_REPLICAS")}
    env.update({
        "TRACKER_DB": str(run_dir / "tracker.db"),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(spec.root),
        "SUPERVISOR_PASSWORD": PASSWORD, "WATCHDOG_INTERVAL": "1",
    })
    env.update(spec.env)
    behind_rasa = spec.rasa_replicas > 1
    behind_actions = spec.balancer and spec.action_replicas > 0
    settings = RuntimeSettings(
        rasa_replicas=spec.rasa_replicas, action_replicas=max(1, spec.action_replicas),
        rasa_port=free_port(), action_port=free_port(),
        haproxy_bin=RuntimeSettings.from_env({}).haproxy_bin,
        redis_url=env.get("REDIS_URL", ""),
    )
    if (behind_rasa or behind_actions) and not settings.haproxy_available:
        raise StackStartError("HAProxy is not installed (make setup-web installs it)")
    rasa_ports = [free_port() for _ in range(spec.rasa_replicas)] if behind_rasa else [
        settings.rasa_port]
    action_ports = ([free_port() for _ in range(spec.action_replicas)] if behind_actions
                    else [settings.action_port][: spec.action_replicas])
    action_url = f"http://127.0.0.1:{settings.action_port}/webhook"
    endpoints = (spec.endpoints or default_endpoints)(env, action_url, run_dir / "endpoints.yml")
    credentials = spec.credentials or spec.root / "credentials.yml"
    services: list[Service] = list(spec.extra_services)
    for index, port in enumerate(action_ports):
        services.append(Service(name=f"action_server_{index}", title=f"action server {index}",
                                argv=spec.action_argv(port),
                                health_url=f"http://127.0.0.1:{port}/health", priority=200))
    if behind_rasa or behind_actions:
        _write_haproxy(settings, run_dir, rasa_ports, action_ports, behind_rasa, behind_actions)
        services.append(Service(name="haproxy", title="HAProxy",
                                argv=(settings.haproxy_bin, "-db", "-f",
                                      str(run_dir / "haproxy.cfg")), priority=300))
    for index, port in enumerate(rasa_ports):
        if spec.root == ROOT:  # the project's launcher: API token, CORS, as make run does
            from scripts.rasa_env import rasa_server_argv

            rasa = tuple(rasa_server_argv(env, port=port, endpoints=endpoints, model=spec.model,
                                          interface="127.0.0.1", credentials=credentials))
        else:  # an older tree or a plain assistant: Rasa's own command line
            rasa = (str(VENV_BIN / "rasa"), "run", "--enable-api", "--interface", "127.0.0.1",
                    "--port", str(port), "--model", str(spec.model), "--endpoints",
                    str(endpoints), "--credentials", str(credentials))
        services.append(Service(
            name=f"rasa_{index}", title=f"Rasa server {index}", argv=rasa,
            health_url=f"http://127.0.0.1:{port}/", priority=400, startup_seconds=300,
            env=(("SANIC_PROXIES_COUNT", "1"),) if behind_rasa else (),
        ))
    conf = supervisor.write(services, run_dir=run_dir, workdir=spec.root, password=PASSWORD,
                            watchdog_argv=[sys.executable, "-m", "runtime.watchdog",
                                           "--run-dir", str(run_dir)])
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([str(spec.root), str(ROOT)]))
    daemon = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(VENV_BIN / "supervisord"), "-c", str(conf)], cwd=spec.root, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for service in services:
            if service.health_url:
                _wait_url(service.health_url, spec.startup_seconds, daemon, run_dir)
        base_url = f"http://127.0.0.1:{settings.rasa_port}"
        # each Rasa server answers one message first: components that load lazily do so now,
        # not on a customer's first turn (a replica would stall its event loop for seconds)
        for port in rasa_ports:
            _warm_up(f"http://127.0.0.1:{port}/webhooks/rest/webhook")
        # and through the balancer: HAProxy marks a server up after its own checks pass
        _wait_url(f"{base_url}/", spec.startup_seconds, daemon, run_dir)
        if behind_actions:
            _wait_url(action_url.replace("/webhook", "/health"), spec.startup_seconds, daemon,
                      run_dir, expect='"status"')
        db_url = env.get("DATABASE_URL", "")
        in_postgres = db_url.startswith("postgres") and spec.endpoints is None
        yield SupervisedStack(
            spec=spec, base_url=base_url, action_url=action_url,
            tracker_url=db_url if in_postgres else f"sqlite:///{env['TRACKER_DB']}",
            rasa_ports=rasa_ports, action_ports=action_ports,
            client=supervisor.SupervisorClient(run_dir, PASSWORD), daemon=daemon,
        )
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=90)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()


def _write_haproxy(settings: RuntimeSettings, run_dir: Path, rasa_ports: list[int],
                   action_ports: list[int], behind_rasa: bool, behind_actions: bool) -> None:
    from dataclasses import replace

    layout = replace(settings, rasa_replicas=len(rasa_ports) if behind_rasa else 1)
    text = haproxy.render(layout, run_dir, rasa_ports=rasa_ports, action_ports=action_ports)
    if not behind_actions:  # a plain assistant: only the Rasa frontend
        text = text.split("frontend action_servers_in")[0] + (
            "frontend rasa_in" + text.split("frontend rasa_in", 1)[1] if behind_rasa else "")
    (run_dir / "haproxy.cfg").write_text(text, encoding="utf-8")
