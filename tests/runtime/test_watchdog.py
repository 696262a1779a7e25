"""The watchdog's decisions with a fake supervisor and clock: a busy service is left alone, a
hung one is restarted, a restart by supervisord is logged, a service that gave up is started
again with a doubling back-off."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.supervisor import CheckedService
from runtime.watchdog import Watchdog


class FakeSupervisor:
    def __init__(self) -> None:
        self.info: dict[str, dict[str, Any]] = {
            "rasa": {"statename": "RUNNING", "pid": 10, "exitstatus": 0}}
        self.restarted: list[str] = []
        self.started: list[str] = []

    def processes(self) -> dict[str, Mapping[str, Any]]:
        return dict(self.info)

    def restart(self, name: str) -> None:
        self.restarted.append(name)

    def start(self, name: str) -> None:
        self.started.append(name)


def _dog(answers: list[bool]) -> tuple[Watchdog, FakeSupervisor, list[float]]:
    now = [0.0]
    supervisor = FakeSupervisor()
    service = CheckedService("rasa", "Rasa server", "http://127.0.0.1:1/", 30.0)
    dog = Watchdog(supervisor, [service], failures_allowed=3, backoff_max=40.0,
                   unhealthy_seconds=60.0, healthy=lambda url: answers.pop(0),
                   clock=lambda: now[0])
    return dog, supervisor, now


def test_busy_for_a_while_is_left_alone_and_hung_is_restarted() -> None:
    answers = [True] + [False] * 5 + [True] + [False] * 20
    dog, supervisor, now = _dog(answers)
    for _ in range(7):  # healthy, then 5 failures within 50 s, then healthy again
        dog.tick()
        now[0] += 10
    assert supervisor.restarted == []
    actions: list[str] = []
    for _ in range(8):  # failing for 70 s
        actions += dog.tick()
        now[0] += 10
    assert supervisor.restarted == ["rasa"]
    assert any("failed its health check" in a for a in actions)


def test_restart_by_supervisord_is_logged() -> None:
    dog, supervisor, now = _dog([True, True])
    dog.tick()
    supervisor.info["rasa"] = {"statename": "STARTING", "pid": 11, "exitstatus": -9}
    actions = dog.tick()
    assert actions and "restarted (pid 10 -> 11" in actions[0] and "-9" in actions[0]


def test_gave_up_is_started_again_with_doubling_backoff() -> None:
    dog, supervisor, now = _dog([])
    supervisor.info["rasa"] = {"statename": "FATAL", "pid": 0}
    starts_at = []
    for second in range(0, 200, 5):
        now[0] = float(second)
        before = len(supervisor.started)
        dog.tick()
        if len(supervisor.started) > before:
            starts_at.append(second)
    assert starts_at[:3] == [10, 30, 70]  # 10 s, then 20 s, then 40 s (the maximum)
    assert starts_at[3] - starts_at[2] == 40
