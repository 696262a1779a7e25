"""Fixtures for the Slack app tests: fake Web API, a real tiny knowledge index, signed requests."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.app import create_app
from bot.services import Services, configure
from bot.settings import SlackSettings
from kb_index.builder import build
from kb_index.feedback import FeedbackStore
from kb_index.search import LiveIndex
from kb_index.settings import KbSettings
from kb_index.types import Hit
from tests.fakes.slack_api import FakeSlackApi

SECRET = "test-signing-secret-0123456789"
TOKEN = "xoxb-fake"  # Bolt reads a bot token by its xoxb- prefix
AGENT = "UAGENT1"
OUTSIDER = "UOUTSIDER"
AGENT_GROUP = "SAGENTS"
AGENT_CHANNEL = "CAGENTS"

ARTICLES = {
    "en/shipping-norway.md": """---
id: shipping-norway
title: Delivery to Norway
language: en
tags: [shipping]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Delivery time
Parcels to Norway are sent with Bring and arrive in 2-5 business days. Shipping to Norway
costs 99 SEK.
""",
    "en/returns.md": """---
id: returns-policy
title: Returning an item
language: en
tags: [returns]
audience: public
owner: cx-content
updated: 2026-01-10
review_by: 2099-01-01
---
## Return window
You can return items within 30 days of delivery. Items must be unused and in the original
packaging. The return label is free in Sweden.
""",
    "en/refund-authority.md": """---
id: refund-authority
title: Agent refund authority
language: en
tags: [refunds]
audience: internal
owner: support-ops
updated: 2026-01-10
review_by: 2099-01-01
---
## Goodwill limits
An agent may grant a goodwill refund up to 1,000 SEK. A team lead may approve up to 5,000 SEK.
""",
    "en/gift-cards.md": """---
id: gift-cards
title: Gift cards
language: en
tags: [payment]
audience: public
owner: cx-content
updated: 2024-01-10
review_by: 2025-01-01
---
## Validity
Gift cards are valid for 24 months and can only be used online. There is no cash refund of
gift cards.
""",
}


def write_articles(root: Path) -> Path:
    for rel, text in ARTICLES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> LiveIndex:
    """A real knowledge index built by kb_index from the articles above (hashing embedder)."""
    root = tmp_path_factory.mktemp("kb")
    settings = dataclasses.replace(KbSettings(), source=write_articles(root / "articles"),
                                   kb_dir=root / "kb", model="hashing-256", passage_chars=300)
    build(settings)
    return LiveIndex(settings)


class FakeKnowledge:
    """A KnowledgeSearch for unit tests: fixed hits, or an error to raise."""

    def __init__(self, hits: list[Hit] | None = None, error: Exception | None = None) -> None:
        self.hits = hits or []
        self.error = error
        self.queries: list[tuple[str, tuple[str, ...]]] = []

    def search(self, query: str, *, k: int = 5, lang: str | None = None,
               audience: tuple[str, ...] = ("public",), tags: tuple[str, ...] = ()) -> list[Hit]:
        self.queries.append((query, audience))
        if self.error is not None:
            raise self.error
        return self.hits[:k]


def hit(article_id: str = "shipping-norway", score: float = 0.8, stale: bool = False,
        passage: str = "Parcels to Norway arrive in 2-5 business days.") -> Hit:
    return Hit(article_id=article_id, title=f"Title of {article_id}", passage=passage,
               score=score, language="en",
               url=f"https://help.nordvik.example/articles/{article_id}", stale=stale)


@pytest.fixture()
def settings() -> SlackSettings:
    # The index here embeds with a hashing function, not a language model: its dense half adds
    # no meaning, so a good match scores lower than with the real model (0.34 for "How long
    # does delivery to Norway take?" against the Norway article). 0.3 keeps the tests about the
    # Slack surfaces, not about this toy embedder's scores.
    return SlackSettings(bot_token=TOKEN, signing_secret=SECRET, agent_usergroup=AGENT_GROUP,
                         agent_channels=(AGENT_CHANNEL,), min_score=0.3)


@pytest.fixture()
def feedback(tmp_path: Path) -> Iterator[FeedbackStore]:
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield store
    store.dispose()


@pytest.fixture()
def fake_api() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    fake.usergroup_users[AGENT_GROUP] = [AGENT]
    fake.channel_members[AGENT_CHANNEL] = [AGENT, "UAGENT2"]
    yield fake
    fake.stop()


@pytest.fixture()
def services(settings: SlackSettings, real_index: LiveIndex,
             feedback: FeedbackStore) -> Iterator[Services]:
    svc = Services(settings, knowledge=real_index, feedback=feedback)
    configure(svc)
    yield svc
    configure(None)


@pytest.fixture()
def app(settings: SlackSettings, services: Services, fake_api: FakeSlackApi) -> App:
    return create_app(settings, client=WebClient(token=TOKEN, base_url=fake_api.url))


# --- signed requests ------------------------------------------------------------------------
def sign(body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    """Slack's v0 scheme: HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": ts, "x-slack-signature": f"v0={digest}"}


def form_body(fields: dict[str, Any]) -> str:
    return urlencode(fields)


def payload_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def dispatch(app: App, body: str, *, content_type: str = "application/x-www-form-urlencoded",
             headers: dict[str, str] | None = None, timestamp: int | None = None,
             secret: str = SECRET) -> BoltResponse:
    all_headers: dict[str, str | Sequence[str]] = {
        "content-type": content_type, **sign(body, timestamp, secret), **(headers or {})}
    return app.dispatch(BoltRequest(body=body, headers=all_headers))


def command_body(command: str, text: str, fake: FakeSlackApi, user: str = AGENT,
                 channel: str = "CSUPPORT") -> str:
    return form_body({"token": "legacy", "team_id": "T1", "channel_id": channel,
                      "user_id": user, "command": command, "text": text,
                      "response_url": fake.response_url("cmd"), "trigger_id": "111.222.abc",
                      "api_app_id": "A1"})


def event_body(event: dict[str, Any], event_id: str = "Ev001") -> str:
    return json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1",
                       "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event,
                       "authorizations": [{"user_id": "UBOT", "team_id": "T1",
                                           "is_bot": True}]})
