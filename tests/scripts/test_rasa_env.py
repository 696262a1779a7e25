"""Rasa's endpoints and command lines: the action server's secret, the masking tracker store,
the API token kept off the command line, CORS limited to the widget's pages."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import read_endpoint_config

from rasa_addons.tracker_store import SQLEventBroker
from scripts.rasa_env import (
    TRACKER_STORE_CLASS,
    RasaSettings,
    action_server_argv,
    rasa_server_argv,
    write_endpoints,
)

ENV = {"ACTION_SERVER_TOKEN": "action-secret-0123456789abcdef", "TRACKER_DB": "x/t.db",
       "RASA_TOKEN": "rasa-token-0123456789abcdef"}


def test_rasa_sends_the_action_servers_secret_in_a_header(tmp_path: Path) -> None:
    path = write_endpoints(ENV, tmp_path / "e.yml")
    action = read_endpoint_config(str(path), "action_endpoint")
    assert action.headers == {"Authorization": "Bearer action-secret-0123456789abcdef"}
    assert action.token is None  # not as ?token=, which would land in access logs
    tracker = read_endpoint_config(str(path), "tracker_store")
    assert tracker.type == TRACKER_STORE_CLASS and tracker.kwargs["dialect"] == "sqlite"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert "action-secret" not in repr(RasaSettings.from_env(ENV))


def test_the_embedded_event_broker_writes_a_turn_in_one_transaction(tmp_path: Path) -> None:
    env = {**ENV, "TRACKER_DB": str(tmp_path / "t.db")}
    config = read_endpoint_config(str(write_endpoints(env, tmp_path / "e.yml")), "event_broker")
    broker = asyncio.run(EventBroker.create(config))
    assert isinstance(broker, SQLEventBroker)  # as Rasa itself builds it from the file
    assert Path(config.kwargs["db"]) == tmp_path / "events.db"


def test_postgres_tracker_store_is_the_masking_one(tmp_path: Path) -> None:
    env = {**ENV, "DATABASE_URL": "postgresql+psycopg2://bot@db.internal:6543/nordvik"}
    config = yaml.safe_load(write_endpoints(env, tmp_path / "e.yml").read_text())
    assert config["tracker_store"]["type"] == TRACKER_STORE_CLASS
    assert config["tracker_store"]["url"] == "db.internal"


def test_the_rasa_command_line_has_no_secret_and_the_widgets_origins(tmp_path: Path) -> None:
    argv = rasa_server_argv({**ENV, "WEB_ORIGINS": "https://shop.example"}, port=5123,
                            endpoints=tmp_path / "e.yml", python="py")
    assert argv[:5] == ["py", "-m", "rasa_addons.rasa_server", "run", "--enable-api"]
    assert argv[argv.index("--cors") + 1:] == ["https://shop.example"]
    assert argv[argv.index("--interface") + 1] == "127.0.0.1"
    assert "rasa-token-0123456789abcdef" not in " ".join(argv) and "*" not in argv
    default = rasa_server_argv({"WEB_PORT": "8081"}, port=1, endpoints=tmp_path / "e.yml")
    assert default[default.index("--cors") + 1:] == ["http://localhost:8081",
                                                      "http://127.0.0.1:8081"]


def test_the_launcher_adds_the_token_only_to_rasa_run(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import rasa.__main__

    from rasa_addons import rasa_server

    seen: list[list[str]] = []
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(list(__import__("sys").argv)))
    # the launcher's patches of Rasa are not this test's subject, and must not outlive it
    for patch in ("install", "install_local_actions", "install_kept_connections"):
        monkeypatch.setattr(f"runtime.rasa_speedups.{patch}", lambda: None)
    monkeypatch.setattr(rasa_server, "constant_time_token_check", lambda: None)
    monkeypatch.setenv("RASA_TOKEN", "rasa-token-0123456789abcdef")
    monkeypatch.delenv("RASA_JWT_SECRET", raising=False)
    rasa_server.main(["run", "--enable-api"])
    rasa_server.main(["run", "actions"])
    monkeypatch.setenv("RASA_JWT_SECRET", "jwt-secret-0123456789abcdef")
    rasa_server.main(["run"])
    assert seen[0] == ["rasa", "run", "--enable-api",
                       "--auth-token=rasa-token-0123456789abcdef"]
    assert seen[1] == ["rasa", "run", "actions"]
    assert seen[2][-3:] == ["--jwt-secret=jwt-secret-0123456789abcdef", "--jwt-method",
                            "HS256"]
    # A secret starting with "-" (token_urlsafe makes some) is still the option's value.
    monkeypatch.setenv("RASA_TOKEN", "-rasa-token-0123456789abcdef")
    rasa_server.main(["run"])
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--auth-token")
    assert parser.parse_args(seen[3][2:3]).auth_token == "-rasa-token-0123456789abcdef"
    import pytest

    for forbidden in (["--auth-token", "guessable"], ["--auth-token=guessable"], ["-t", "x"]):
        with pytest.raises(SystemExit, match="not from the command line"):
            rasa_server.main(["run", *forbidden])


def test_the_action_server_command() -> None:
    assert action_server_argv(5099, python="py") == [
        "py", "-m", "rasa_addons.action_server", "--port", "5099", "--actions", "actions"]
