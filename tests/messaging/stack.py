"""The real Rasa and action servers with the three messaging channels on, the platforms' fake
APIs and the fake Slack Web API on loopback, and the real Bolt app for the agent's side.

    from tests.messaging.stack import (env_patch, crm, platforms, slack, model,  # noqa: F401
                                       messaging_stack, bolt)
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners import handoff as handoff_listeners
from handoff.relay import HandoffSettings
from messaging.contacts import ContactStore, conversation_id_for
from messaging.send_test import Webhook, post
from messaging.settings import MessagingSettings
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import make_store
from tests.handoff.test_handoff_e2e import SECRET
from tests.messaging.fakes import FakePlatforms
from tests.support.fixtures import rasa_model  # noqa: F401
from tests.support.rasa_stack import RasaStack, free_port, start_rasa_stack

CHANNEL = "CHANDOFF"  # tests.handoff.test_handoff_e2e.agent_reply posts in this channel
SECRET_KEY = "test-master-key-for-the-messaging-e2e-0123456789"
SECRETS = {
    "TWILIO_ACCOUNT_SID": "ACtest0000000000000000000000000000",
    "TWILIO_AUTH_TOKEN": "twilio-auth-token-for-the-tests",
    "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
    "MESSENGER_APP_SECRET": "meta-app-secret-for-the-tests",
    "MESSENGER_VERIFY_TOKEN": "meta-verify-token-for-the-tests",
    "MESSENGER_PAGE_TOKEN": "meta-page-token-for-the-tests",
    "LINE_CHANNEL_SECRET": "line-channel-secret-for-the-tests",
    "LINE_CHANNEL_TOKEN": "line-channel-token-for-the-tests",
}


@dataclass
class MessagingStack:
    rasa: RasaStack
    settings: MessagingSettings
    contacts: ContactStore
    sent_mail: Path  # SMTP_URL=file: the e-mail channel's outgoing mail ("Send it by e-mail")

    def send(self, hook: Webhook) -> tuple[int, str]:
        return post(self.rasa.base_url, hook)

    def conversation(self, platform: str, user_id: str) -> str:
        return conversation_id_for(platform, user_id)

    def log(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in self.rasa.logs)


@pytest.fixture(scope="module")
def env_patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory, env_patch: pytest.MonkeyPatch) -> OrderStore:
    env_patch.setenv("NORDVIK_SECRET_KEY", SECRET_KEY)
    return make_store(tmp_path_factory.mktemp("messaging-store"), env_patch)


@pytest.fixture(scope="module")
def platforms() -> Iterator[FakePlatforms]:
    fake = FakePlatforms().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> Path:
    """The project's model, or an already trained one named by NORDVIK_TEST_MODEL."""
    given = os.environ.get("NORDVIK_TEST_MODEL")
    return Path(given) if given else Path(request.getfixturevalue("rasa_model"))


@pytest.fixture(scope="module")
def messaging_stack(tmp_path_factory: pytest.TempPathFactory, crm: OrderStore,
                    platforms: FakePlatforms, slack: FakeSlackApi, model: Path,
                    env_patch: pytest.MonkeyPatch) -> Iterator[MessagingStack]:
    tmp = tmp_path_factory.mktemp("messaging-stack")
    extra = {
        **SECRETS, "NORDVIK_SECRET_KEY": SECRET_KEY,
        "TWILIO_API_URL": platforms.url, "MESSENGER_API_URL": platforms.url + "/v19.0",
        "LINE_API_URL": platforms.url,
        "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_HANDOFF_CHANNEL": CHANNEL, "KB_URL": f"http://127.0.0.1:{free_port()}",
        "HANDOFF_RETRY_MS": "300", "HANDOFF_DELIVERY_ATTEMPTS": "100",
        "SMTP_URL": f"file:{tmp / 'sent-mail'}", "MAIL_SPOOL_DIR": str(tmp / 'mail-spool'),
    }
    with start_rasa_stack(tmp / "rasa", str(crm.engine.url), extra, model=model) as rasa:
        env = {**rasa.env, "RASA_URL": rasa.base_url}
        for name in ("RASA_URL", "RASA_TOKEN", "SLACK_API_URL", "SLACK_BOT_TOKEN",
                     "SLACK_HANDOFF_CHANNEL", "HANDOFF_RETRY_MS", "HANDOFF_DELIVERY_ATTEMPTS"):
            env_patch.setenv(name, env[name])
        yield MessagingStack(rasa, MessagingSettings.from_env(extra),
                             ContactStore(str(crm.engine.url)), tmp / "sent-mail")


@pytest.fixture(scope="module")
def bolt(messaging_stack: MessagingStack, slack: FakeSlackApi) -> App:
    """The real Bolt app with the handoff listeners, against the fake Web API."""
    app = App(signing_secret=SECRET, client=WebClient(token="xoxb-test", base_url=slack.url))
    handoff_listeners.register(app, HandoffSettings.from_env())
    return app


def wait_until(check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout:.0f} s")
        time.sleep(0.2)
