"""The watchdog: health checks that act, and restarts that are logged.

Runs as a supervisord program (`python -m runtime.watchdog --run-dir var/run`). Every
WATCHDOG_INTERVAL seconds it asks supervisord for the state of every service and:

- logs each restart supervisord made (a new pid after an exit), with the exit reason;
- checks each running service's health URL; after WATCHDOG_FAILURES failed checks in a row
  spanning at least WATCHDOG_UNHEALTHY_SECONDS (a hung process that still runs: no answer
  within 5 s, or a 5xx, for a minute by default; a server that is merely busy answers again
  well before that) it restarts the service through supervisord. A service that has not been
  healthy yet gets its start-up time first;
- restarts a service supervisord gave up on (FATAL: it kept failing to start) after a back-off
  that doubles each time (10 s, 20 s, ... up to RESTART_BACKOFF_MAX), so a service whose
  database was briefly away comes back on its own.
"""

from __future__ import annotations

import argparse
import logging
import time
import urllib.error
import urllib.request
import xmlrpc.client
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from nordvik.secrets import secret
from runtime.settings import RuntimeSettings
from runtime.supervisor import CheckedService, SupervisorClient, read_services

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 10.0
HEALTH_TIMEOUT_SECONDS = 5.0


class Supervisor(Protocol):
    def processes(self) -> dict[str, Mapping[str, Any]]: ...

    def restart(self, name: str) -> None: ...

    def start(self, name: str) -> None: ...


def http_healthy(url: str, timeout: float = HEALTH_TIMEOUT_SECONDS) -> bool:
    """A health check passes on any answer below 500 within the timeout."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def _exit_reason(info: Mapping[str, Any]) -> str:
    if info.get("spawnerr"):
        return str(info["spawnerr"])
    return f"after an exit (last exit status {info.get('exitstatus')})"


@dataclass
class _Watch:
    service: CheckedService
    pid: int = 0
    started_at: float = 0.0
    healthy_once: bool = False
    failures: int = 0
    failing_since: float | None = None
    fatal_since: float | None = None
    backoff: float = FIRST_BACKOFF_SECONDS
    restarts: int = 0


@dataclass
class Watchdog:
    supervisor: Supervisor
    services: list[CheckedService]
    failures_allowed: int = 3
    backoff_max: float = 300.0
    unhealthy_seconds: float = 60.0
    healthy: Callable[[str], bool] = http_healthy
    clock: Callable[[], float] = time.monotonic
    _watches: dict[str, _Watch] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._watches = {s.name: _Watch(s) for s in self.services}

    def tick(self) -> list[str]:
        """One round of checks; returns what it did (also logged)."""
        done: list[str] = []
        now = self.clock()
        infos = self.supervisor.processes()
        for name, watch in self._watches.items():
            info = infos.get(name)
            if info is None:
                continue
            state = str(info.get("statename"))
            pid = int(info.get("pid") or 0)
            if state in ("STARTING", "RUNNING") and pid and pid != watch.pid:
                if watch.pid:
                    watch.restarts += 1
                    done.append(self._log(
                        "%s restarted (pid %s -> %s, restart %s): %s", watch.service.title,
                        watch.pid, pid, watch.restarts, _exit_reason(info)))
                watch.pid, watch.started_at = pid, now
                watch.healthy_once, watch.failures, watch.failing_since = False, 0, None
                watch.fatal_since, watch.backoff = None, FIRST_BACKOFF_SECONDS
            if state == "FATAL":
                done += self._fatal(name, watch, now)
                continue
            if state != "RUNNING" or watch.service.health_url is None:
                continue
            if self.healthy(watch.service.health_url):
                watch.healthy_once, watch.failures, watch.failing_since = True, 0, None
                continue
            if not watch.healthy_once and now - watch.started_at < watch.service.startup_seconds:
                continue  # still starting
            watch.failures += 1
            if watch.failing_since is None:
                watch.failing_since = now
            if (watch.failures >= self.failures_allowed
                    and now - watch.failing_since >= self.unhealthy_seconds):
                done.append(self._log(
                    "%s failed its health check %s times in a row over %.0f s (%s); "
                    "restarting it", watch.service.title, watch.failures,
                    now - watch.failing_since, watch.service.health_url))
                watch.failures, watch.failing_since = 0, None
                try:
                    self.supervisor.restart(name)
                except (xmlrpc.client.Fault, OSError):
                    logger.exception("could not restart %s", watch.service.title)
        return done

    def _fatal(self, name: str, watch: _Watch, now: float) -> list[str]:
        if watch.fatal_since is None:
            watch.fatal_since = now
            return [self._log("%s keeps failing to start; trying again in %.0f s",
                              watch.service.title, watch.backoff)]
        if now - watch.fatal_since < watch.backoff:
            return []
        watch.fatal_since = now
        watch.backoff = min(self.backoff_max, watch.backoff * 2)
        try:
            self.supervisor.start(name)
        except (xmlrpc.client.Fault, OSError):
            logger.warning("%s did not start; next try in %.0f s", watch.service.title,
                           watch.backoff)
        return [self._log("started %s again after it had given up (next back-off %.0f s)",
                          watch.service.title, watch.backoff)]

    @staticmethod
    def _log(message: str, *args: object) -> str:
        logger.warning(message, *args)
        return message % args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="health checks and restarts under supervisord")
    parser.add_argument("--run-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s watchdog: %(message)s")
    settings = RuntimeSettings.from_env()
    client = SupervisorClient(args.run_dir, secret("supervisor", "SUPERVISOR_PASSWORD"))
    dog = Watchdog(client, read_services(args.run_dir), settings.watchdog_failures,
                   settings.restart_backoff_max, settings.watchdog_unhealthy_seconds)
    logger.info("watching %s services every %.1f s", len(dog.services), settings.watchdog_interval)
    while True:
        try:
            dog.tick()
        except (OSError, xmlrpc.client.Fault):
            logger.exception("supervisord did not answer")
        time.sleep(settings.watchdog_interval)


if __name__ == "__main__":
    raise SystemExit(main())
