"""The layout `make run` derives from RASA_REPLICAS / ACTION_REPLICAS, and HAProxy's verdict on
the configuration written for it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nordvik.env import SettingsError
from runtime import haproxy
from runtime.settings import MAX_REPLICAS, RuntimeSettings, available_cores, rasa_replicas
from scripts.services import describe

HAPROXY = "/usr/sbin/haproxy"
needs_haproxy = pytest.mark.skipif(not Path(HAPROXY).exists(),
                                   reason="HAProxy is not installed (make setup-web installs it)")


def _settings(**env: str) -> RuntimeSettings:
    return RuntimeSettings.from_env({"HAPROXY_BIN": HAPROXY, **env})


def test_replicas_need_a_shared_lock_store() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL"):
        _settings(RASA_REPLICAS="2")
    with pytest.raises(SettingsError, match="RASA_REPLICAS='two'"):
        _settings(RASA_REPLICAS="two")
    with pytest.raises(SettingsError, match="at least 1"):
        _settings(ACTION_REPLICAS="0")


def test_auto_runs_one_rasa_server_per_two_cores_only_when_redis_shares_the_locks() -> None:
    redis = "redis://127.0.0.1:6379/0"
    auto = {"RASA_REPLICAS": "auto"}
    assert [rasa_replicas(auto, redis_url=redis, cores=n) for n in (1, 2, 3, 4, 8, 64)] == [
        1, 1, 1, 2, 4, MAX_REPLICAS]
    # embedded defaults keep conversation locks in one process: one Rasa server, on any machine
    assert [rasa_replicas(auto, redis_url="", cores=n) for n in (2, 8, 64)] == [1, 1, 1]
    assert rasa_replicas({"RASA_REPLICAS": " AUTO "}, redis_url=redis, cores=4) == 2
    assert rasa_replicas({}, redis_url=redis, cores=4) == 2  # auto is the default
    # a number is taken as it is
    assert rasa_replicas({"RASA_REPLICAS": "3"}, redis_url=redis, cores=2) == 3
    for bad, message in (("0", "at least 1"), (str(MAX_REPLICAS + 1), f"at most {MAX_REPLICAS}"),
                         ("many", "RASA_REPLICAS='many' is not a whole number")):
        with pytest.raises(SettingsError, match=message):
            rasa_replicas({"RASA_REPLICAS": bad}, redis_url=redis, cores=2)


def test_auto_is_the_default_and_follows_this_machines_cores() -> None:
    assert _settings().rasa_replicas == 1  # no REDIS_URL
    with_redis = _settings(REDIS_URL="redis://127.0.0.1:6379/0")
    assert with_redis.rasa_replicas == max(1, available_cores() // 2)
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def test_replicas_without_haproxy_are_refused() -> None:
    with pytest.raises(SettingsError, match="HAProxy"):
        RuntimeSettings.from_env({"HAPROXY_BIN": "/nonexistent/haproxy", "ACTION_REPLICAS": "2",
                                  "PATH": "/nonexistent"}).check()


@needs_haproxy
def test_two_rasa_servers_and_three_action_servers(tmp_path: Path) -> None:
    settings = _settings(RASA_REPLICAS="2", ACTION_REPLICAS="3", REDIS_URL="redis://127.0.0.1:6379/0")
    services = describe({}, settings, tmp_path / "endpoints.yml", tmp_path)
    names = [s.name for s in services]
    assert names[:2] == ["kb_serve", "kb_watch"]
    assert [n for n in names if n.startswith("action_server")] == [
        "action_server_0", "action_server_1", "action_server_2"]
    assert [n for n in names if n.startswith("rasa_")] == ["rasa_0", "rasa_1"]
    assert "haproxy" in names
    ports = {s.name: s.argv[s.argv.index("--port") + 1] for s in services if "--port" in s.argv}
    assert ports["rasa_0"] == "5105" and ports["rasa_1"] == "5106"
    assert ports["action_server_2"] == "5157"
    rasa = next(s for s in services if s.name == "rasa_1")
    assert ("SANIC_PROXIES_COUNT", "1") in rasa.env  # customer address from X-Forwarded-For
    assert rasa.argv[rasa.argv.index("--interface") + 1] == "127.0.0.1"

    config = haproxy.write_config(settings, tmp_path)
    assert haproxy.check_config(settings, config) is None
    text = config.read_text()
    assert text.count("server rasa0 127.0.0.1:5105 check") == 2  # REST and socket.io backends
    assert "server action2 127.0.0.1:5157 check" in text
    assert "balance source" in text  # socket.io sticky by client address
    down = (tmp_path / "action_server_down.http").read_bytes().decode()
    assert down.startswith("HTTP/1.0 200 OK")
    body = json.loads(down.split("\r\n\r\n", 1)[1])
    assert body == {"events": [], "responses": [{"response": "utter_action_server_down"}]}


@needs_haproxy
def test_default_layout_puts_only_the_action_server_behind_haproxy(tmp_path: Path) -> None:
    settings = _settings()
    services = describe({}, settings, tmp_path / "endpoints.yml", tmp_path)
    rasa = next(s for s in services if s.name == "rasa_0")
    assert rasa.argv[rasa.argv.index("--port") + 1] == "5005" and not rasa.env
    action = next(s for s in services if s.name == "action_server_0")
    assert action.argv[action.argv.index("--port") + 1] == "5155"
    config = haproxy.write_config(settings, tmp_path)
    assert haproxy.check_config(settings, config) is None
    assert "frontend rasa_in" not in config.read_text()
    assert "bind 127.0.0.1:5055" in config.read_text()
