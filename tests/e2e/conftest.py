from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.fixtures import kb_server, rasa_model, shipped_kb_index  # noqa: F401
from tests.support.knowledge import KbServer
from tests.support.rasa_stack import RasaStack, start_rasa_stack
from tests.support.store import make_test_store, sqlite_url

KB_MIN_SCORE = 0.35  # the default in kb_index.settings, set so that .env cannot change it


@pytest.fixture(scope="package")
def bot_store(tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    url = sqlite_url(tmp_path_factory.mktemp("e2e-store") / "store.db")
    return make_test_store(url)


HANDOFF_CHANNEL = "CHANDOFF"


@pytest.fixture(scope="package")
def slack_api() -> Iterator[FakeSlackApi]:
    """The local fake of Slack's Web API the handoffs are posted to."""
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture(scope="package")
def bot_stack(
    rasa_model: Path,  # noqa: F811
    bot_store: OrderStore,
    kb_server: KbServer,  # noqa: F811
    slack_api: FakeSlackApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RasaStack]:
    """The real Rasa server and action server on loopback, sharing the seeded test store, with
    the knowledge fallback searching a real `kb serve` on the shipped articles and handoffs
    posted to the fake Slack Web API."""
    knowledge = {"KB_URL": kb_server.url, "KB_MIN_SCORE": str(KB_MIN_SCORE),
                 "SLACK_API_URL": slack_api.url, "SLACK_BOT_TOKEN": "xoxb-e2e",
                 "SLACK_HANDOFF_CHANNEL": HANDOFF_CHANNEL,
                 # every simulated customer comes from 127.0.0.1, one "client" for the limits:
                 # the per-client limit is tested on its own in tests/security
                 "VERIFY_MAX_PER_CLIENT": "0"}
    with start_rasa_stack(
        tmp_path_factory.mktemp("e2e-stack"), str(bot_store.engine.url), knowledge,
        model=rasa_model,
    ) as stack:
        yield stack
