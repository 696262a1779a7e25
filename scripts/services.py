"""The one description of every service `make run` starts.

`scripts/run_all.py` turns this list into supervisord's configuration (var/run/supervisord.conf)
and, when there is a balancer, HAProxy's (var/run/haproxy.cfg). supervisord restarts a crashed
service with backoff and keeps the others running; the watchdog (runtime/watchdog.py) polls each
service's health check and restarts a service whose check keeps failing.

To add a service, append a `Service` in `describe()`:

    Service(
        name="dashboard",                      # supervisor program name: a-z, 0-9, _
        title="analytics dashboard",           # what people read in logs
        argv=(PYTHON, "-m", "dashboard", "--port", port),
        health_url=f"http://127.0.0.1:{port}/healthz",   # None: "process is running" is the check
        priority=600,                          # start order (lower first)
    )

Its output goes to var/run/logs/<name>.log; the environment is `make run`'s (.env included),
plus `env` if given. Nothing else needs changing: supervision, restarts, health checks, the
readiness wait and Ctrl-C come with it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.settings import SlackSettings
from nordvik.env import env_int
from runtime.settings import RuntimeSettings
from scripts.rasa_env import action_server_argv as launcher_argv
from scripts.rasa_env import rasa_server_argv

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Service:
    """One supervised process."""

    name: str
    title: str
    argv: tuple[str, ...]
    health_url: str | None = None
    startup_seconds: float = 180.0
    priority: int = 500
    env: tuple[tuple[str, str], ...] = ()
    public_url: str | None = None  # printed by `make run` when it is up

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"service name {self.name!r} must match {_NAME.pattern}")
        if not self.argv:
            raise ValueError(f"service {self.name!r} has an empty command")


def rasa_argv(env: Mapping[str, str], port: int, host: str, endpoints: Path) -> tuple[str, ...]:
    """One Rasa server (every replica is started the same way): the HTTP API behind its token,
    CORS for the widget's origins only (scripts.rasa_env.rasa_server_argv)."""
    return tuple(rasa_server_argv(env, port=port, interface=host, endpoints=endpoints,
                                  model="models", credentials="credentials.yml", python=PYTHON))


def action_server_argv(port: int) -> tuple[str, ...]:
    """One action server (rasa_addons.action_server): rasa_sdk's app with synchronous actions
    run in a thread pool, on loopback, every call checked for the shared secret."""
    return tuple(launcher_argv(port, python=PYTHON))


def describe(env: Mapping[str, str], settings: RuntimeSettings, endpoints: Path,
             run_dir: Path) -> list[Service]:
    """Every service of this installation, in start order."""
    kb_port = str(env_int(env, "KB_PORT", low=1, high=65535))
    web_port = str(env_int(env, "WEB_PORT", low=1, high=65535))
    services: list[Service] = [
        Service(
            name="kb_serve", title="knowledge service",
            argv=(str(VENV_BIN / "kb"), "serve", "--host", "127.0.0.1", "--port", kb_port),
            health_url=f"http://127.0.0.1:{kb_port}/healthz", priority=100,
            public_url=f"http://localhost:{kb_port}/search?q=return+window",
        ),
        Service(
            name="kb_watch", title="knowledge watcher",
            argv=(str(VENV_BIN / "kb"), "watch", "--interval", "2"), priority=110,
        ),
    ]
    for index, port in enumerate(settings.action_ports()):
        services.append(Service(
            name=f"action_server_{index}", title=f"action server {index + 1}",
            argv=action_server_argv(port), health_url=f"http://127.0.0.1:{port}/health",
            priority=200,
        ))
    if settings.actions_behind_balancer or settings.rasa_behind_balancer:
        health_port = (settings.action_port if settings.actions_behind_balancer
                       else settings.rasa_port)
        services.append(Service(
            name="haproxy", title="load balancer (HAProxy)",
            argv=(settings.haproxy_bin, "-db", "-f", str(run_dir / "haproxy.cfg")),
            health_url=f"http://127.0.0.1:{health_port}/lb-health", startup_seconds=30,
            priority=300,
        ))
    behind = settings.rasa_behind_balancer
    for index, port in enumerate(settings.rasa_ports()):
        host = "127.0.0.1" if behind else settings.rasa_host
        services.append(Service(
            name=f"rasa_{index}", title=f"Rasa server {index + 1}",
            argv=rasa_argv(env, port, host, endpoints),
            health_url=f"http://127.0.0.1:{port}/", startup_seconds=300, priority=400,
            # behind HAProxy, Sanic takes the customer's address from X-Forwarded-For; a killed
            # replica's conversation lock frees after TICKET_LOCK_LIFETIME (Rasa: 60 s)
            env=(("SANIC_PROXIES_COUNT", "1"),
                 ("TICKET_LOCK_LIFETIME", str(env_int(env, "TICKET_LOCK_LIFETIME", low=1))),
                 ) if behind else (),
        ))
    dashboard_port = str(env_int(env, "DASHBOARD_PORT", low=1, high=65535))
    services += [
        Service(
            name="analytics_consumer", title="analytics consumer",
            argv=(PYTHON, "-m", "analytics.consumer"), priority=450,
        ),
        Service(
            name="dashboard", title="analytics dashboard",
            argv=(PYTHON, "-m", "dashboard", "--port", dashboard_port),
            health_url=f"http://127.0.0.1:{dashboard_port}/healthz", priority=550,
            public_url=f"http://localhost:{dashboard_port}/",
        ),
    ]
    services.append(Service(
        # SMTP on loopback (MAIL_HOST:MAIL_PORT); hands each stored mail to Rasa's e-mail channel
        name="mail_receiver", title="e-mail receiver (SMTP)", argv=(PYTHON, "-m", "mail"),
        priority=500,
    ))
    services.append(Service(
        name="web", title="demo store page",
        argv=(PYTHON, "-m", "web.serve", "--port", web_port),
        health_url=f"http://127.0.0.1:{web_port}/", priority=500,
        public_url=f"http://localhost:{web_port}/",
    ))
    slack = SlackSettings.from_env(env)
    if not slack.missing():
        services.append(Service(
            name="slack_app", title="Slack app", argv=(PYTHON, "-m", "bot"),
            health_url=None if slack.socket_mode else f"http://127.0.0.1:{slack.port}/healthz",
            priority=600,
        ))
    return services


def skipped(env: Mapping[str, str]) -> list[str]:
    """Services left out, and why (printed by `make run`)."""
    missing = SlackSettings.from_env(env).missing()
    return [f"the Slack app: {missing} (see bot/README.md)"] if missing else []
