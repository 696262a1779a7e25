"""Runtime settings: how many replicas, on which ports, and how services are supervised."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nordvik.env import SettingsError, env_float, env_int, env_state_path, env_str, state_dir

MAX_REPLICAS = 16
# RASA_REPLICAS=auto: one Rasa server per this many cores. A busy Rasa server keeps about one
# core at work (NLU, policies, the tracker), and its action server, kb serve and the store
# about as much again; on 2 cores one Rasa server already answers a closed loop of 10 customers
# 1.3-1.5 times as fast as a plain `rasa init` (reports/chat_latency.md).
CORES_PER_RASA_SERVER = 2


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def rasa_replicas(env: Mapping[str, str] | None, *, redis_url: str, cores: int) -> int:
    """RASA_REPLICAS: a number, or `auto` (the default): one Rasa server per
    CORES_PER_RASA_SERVER cores when Redis gives the replicas a shared lock store, and one
    without it (embedded defaults), since conversation locks in memory are per process."""
    if env_str(env, "RASA_REPLICAS").strip().lower() != "auto":
        return env_int(env, "RASA_REPLICAS", low=1, high=MAX_REPLICAS)
    if not redis_url:
        return 1
    return max(1, min(MAX_REPLICAS, cores // CORES_PER_RASA_SERVER))


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything `make run` needs to lay out the processes.

    Public ports stay where customers and other services expect them (RASA_PORT, ACTION_PORT);
    with a load balancer in front, the replicas listen on internal loopback ports
    (`<public port> + 100 + i`).
    """

    rasa_replicas: int = 1
    action_replicas: int = 1
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    action_port: int = 5055
    replica_port_offset: int = 100
    haproxy_bin: str = ""
    run_dir: Path = field(default_factory=lambda: state_dir() / "run")
    redis_url: str = ""
    action_threads: int = 8
    watchdog_interval: float = 5.0
    watchdog_failures: int = 3
    watchdog_unhealthy_seconds: float = 60.0
    restart_backoff_max: float = 300.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RuntimeSettings:
        haproxy = env_str(env, "HAPROXY_BIN") or shutil.which("haproxy") or ""
        if not haproxy and Path("/usr/sbin/haproxy").exists():
            haproxy = "/usr/sbin/haproxy"
        redis_url = env_str(env, "REDIS_URL")
        settings = cls(
            rasa_replicas=rasa_replicas(env, redis_url=redis_url, cores=available_cores()),
            action_replicas=env_int(env, "ACTION_REPLICAS", low=1, high=MAX_REPLICAS),
            rasa_host=env_str(env, "RASA_HOST"),
            rasa_port=env_int(env, "RASA_PORT", low=1, high=65535),
            action_port=env_int(env, "ACTION_PORT", low=1, high=65535),
            replica_port_offset=env_int(env, "REPLICA_PORT_OFFSET", low=1, high=10000),
            haproxy_bin=haproxy,
            run_dir=env_state_path(env, "RUN_DIR"),
            redis_url=redis_url,
            action_threads=env_int(env, "ACTION_THREADS", low=1, high=256),
            watchdog_interval=env_float(env, "WATCHDOG_INTERVAL", low=0.2),
            watchdog_failures=env_int(env, "WATCHDOG_FAILURES", low=1),
            watchdog_unhealthy_seconds=env_float(env, "WATCHDOG_UNHEALTHY_SECONDS",
                                                 low=0.0),
            restart_backoff_max=env_float(env, "RESTART_BACKOFF_MAX", low=1.0),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse layouts that would lose or mix up conversations."""
        if self.rasa_replicas > 1 and not self.redis_url:
            raise SettingsError(
                f"RASA_REPLICAS={self.rasa_replicas} needs REDIS_URL: several Rasa servers must "
                "share one lock store, or two of them may answer the same conversation at once"
            )
        if self.load_balanced and not self.haproxy_available:
            raise SettingsError(
                "RASA_REPLICAS/ACTION_REPLICAS above 1 need HAProxy, which was not found; "
                "install it (apt-get install haproxy, done by `make setup-web`) or set HAPROXY_BIN"
            )
        for index in range(max(self.rasa_replicas, self.action_replicas)):
            for port in (self.rasa_port, self.action_port):
                if port + self.replica_port_offset + index > 65535:
                    raise SettingsError(
                        f"replica port {port + self.replica_port_offset + index} is above 65535; "
                        "lower REPLICA_PORT_OFFSET"
                    )

    @property
    def load_balanced(self) -> bool:
        return self.rasa_replicas > 1 or self.action_replicas > 1

    @property
    def haproxy_available(self) -> bool:
        return bool(self.haproxy_bin) and Path(self.haproxy_bin).exists()

    @property
    def rasa_behind_balancer(self) -> bool:
        """Rasa replicas sit behind HAProxy only when there are several."""
        return self.rasa_replicas > 1

    @property
    def actions_behind_balancer(self) -> bool:
        """Action servers sit behind HAProxy whenever it is installed: it answers politely
        while none is up, and retries on another replica when one dies."""
        return self.haproxy_available

    def rasa_ports(self) -> list[int]:
        if not self.rasa_behind_balancer:
            return [self.rasa_port]
        base = self.rasa_port + self.replica_port_offset
        return [base + i for i in range(self.rasa_replicas)]

    def action_ports(self) -> list[int]:
        if not self.actions_behind_balancer:
            return [self.action_port]
        base = self.action_port + self.replica_port_offset
        return [base + i for i in range(self.action_replicas)]
