"""The analytics settings: where events come from and facts go, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import AnalyticsSettings, AnalyticsSettingsError, event_broker_config
from nordvik.env import REPO_ROOT


def test_defaults_are_embedded_files() -> None:
    s = AnalyticsSettings.from_env({})
    assert s.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'analytics.db'}"
    assert s.events_db == REPO_ROOT / "var" / "events.db"
    assert s.rabbit is None
    assert s.event_broker_config() == {"type": "SQL", "dialect": "sqlite",
                                       "db": str(REPO_ROOT / "var" / "events.db")}


def test_the_event_file_sits_beside_the_tracker_file(tmp_path: Path) -> None:
    s = AnalyticsSettings.from_env({"TRACKER_DB": str(tmp_path / "t" / "tracker.db")})
    assert s.events_db == tmp_path / "t" / "events.db"
    s = AnalyticsSettings.from_env({"EVENTS_DB": "var/x.db"})
    assert s.events_db == REPO_ROOT / "var" / "x.db"


def test_postgres_is_shared_and_an_explicit_url_wins() -> None:
    pg = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    assert AnalyticsSettings.from_env({"DATABASE_URL": pg}).database_url == pg
    assert AnalyticsSettings.from_env({"DATABASE_URL": "sqlite:///var/store.db"}
                                      ).database_url.endswith("/var/analytics.db")
    explicit = AnalyticsSettings.from_env({"DATABASE_URL": pg,
                                           "ANALYTICS_DATABASE_URL": "sqlite:///var/a.db"})
    assert explicit.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'a.db'}"


def test_rabbitmq_url_gives_rasas_pika_broker() -> None:
    s = AnalyticsSettings.from_env({"RABBITMQ_URL": "amqp://bob:s%40cret@mq.local:5673/shop",
                                    "ANALYTICS_QUEUE": "q1"})
    assert s.rabbit is not None
    assert (s.rabbit.username, s.rabbit.password, s.rabbit.vhost) == ("bob", "s@cret", "shop")
    config = s.event_broker_config()
    assert config["type"] == "pika" and config["queues"] == ["q1"]
    assert config["url"] == "amqp://mq.local:5673/shop" and config["port"] == 5673
    assert config["exchange_name"] == "rasa-exchange"


@pytest.mark.parametrize(("env", "message"), [
    ({"RABBITMQ_URL": "http://mq:5672"}, "RABBITMQ_URL"),
    ({"RABBITMQ_URL": "amqp://:5672"}, "RABBITMQ_URL"),
    ({"RABBITMQ_URL": "amqp://mq:notaport/"}, "port"),
    ({"ANALYTICS_BATCH_SIZE": "many"}, "ANALYTICS_BATCH_SIZE"),
    ({"ANALYTICS_POLL_SECONDS": "0"}, "ANALYTICS_POLL_SECONDS"),
    ({"ANALYTICS_EVENTS": "perhaps"}, "ANALYTICS_EVENTS"),
])
def test_bad_values_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(AnalyticsSettingsError, match=message):
        event_broker_config(env) if "ANALYTICS_EVENTS" in env else AnalyticsSettings.from_env(env)


def test_the_broker_can_be_turned_off(tmp_path: Path) -> None:
    assert event_broker_config({"ANALYTICS_EVENTS": "0"}) is None
    on = event_broker_config({"TRACKER_DB": str(tmp_path / "v" / "tracker.db")})
    assert on is not None and (tmp_path / "v").is_dir()
