"""A mail handed to a person goes the one handoff path (handoff.service.hand_over), like a chat.

The channel's real code (MailConversations.handle) runs with a real SQLite store and mail thread
store, Rasa's own in-memory tracker and lock stores and the project's domain, the local fake Slack
Web API and replies written as .eml files. Only the NLU turn is left out: a complaint by subject
and a mail with a problem go to a person before any turn.
"""

from __future__ import annotations

import ast
import asyncio
import json
import socket
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import handoff.service
from mail.escalation import FOLLOW_UP
from mail.inbound import MailConversations
from mail.parsing import parse_mail
from mail.payload import MailPayload, payload_for
from mail.settings import MailSettings, SmtpTarget
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.handoff.store_fixture import EMAIL, ORDER_NUMBER, interactions, make_store
from tests.mail.mails import mail, raw

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "CMAILHANDOFF"
SENDER = f"Anna Berg <{EMAIL}>"


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


class FakeAgent:
    """The parts of Rasa's agent the channel uses, on Rasa's own in-memory stores."""

    def __init__(self, domain: Domain) -> None:
        self.domain = domain
        self.tracker_store = InMemoryTrackerStore(domain)
        self.lock_store = InMemoryLockStore()
        self.processor = self

    async def get_tracker(self, conversation_id: str) -> DialogueStateTracker:
        return await self.tracker_store.get_or_create_tracker(conversation_id)

    async def log_message(self, message: UserMessage) -> None:
        tracker = await self.get_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel,
                                   metadata=message.metadata))
        await self.tracker_store.save(tracker)


async def no_turn(message: UserMessage) -> None:
    raise AssertionError("a mail that goes straight to a person has no NLU turn")


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture()
def slack() -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi().start()
    yield fake
    fake.stop()


@pytest.fixture()
def crm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, slack: FakeSlackApi) -> OrderStore:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-mail-tests-0123456789")
    monkeypatch.setenv("KB_URL", _closed_url())  # suggestions: "knowledge index unavailable"
    monkeypatch.setenv("SLACK_HANDOFF_CHANNEL", CHANNEL)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-mail-test")
    monkeypatch.setenv("SLACK_API_URL", slack.url)
    return make_store(tmp_path, monkeypatch)


@pytest.fixture()
def settings(tmp_path: Path) -> MailSettings:
    return MailSettings(spool_dir=tmp_path / "spool", webhook_token="a-test-token-of-enough-length",
                        smtp=SmtpTarget.parse(f"file:{tmp_path / 'sent'}"))


def payload(settings: MailSettings, text: str, **kwargs: Any) -> MailPayload:
    parsed = parse_mail(raw(mail(text, sender=SENDER, **kwargs)), max_bytes=settings.max_bytes,
                        fallback_id="<spool-1@missing-message-id.invalid>")
    return MailPayload.from_json(payload_for("spool-1", parsed, settings))


def sent(tmp_path: Path) -> list[str]:
    files = sorted((tmp_path / "sent").glob("*.eml"))
    return [BytesParser(policy=policy.default).parsebytes(f.read_bytes())
            .get_body(preferencelist=("plain",)).get_content() for f in files]


def test_a_complaint_mail_goes_through_the_handoff_package(
        crm: OrderStore, slack: FakeSlackApi, settings: MailSettings, domain: Domain,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, str]] = []
    real_hand_over = handoff.service.hand_over

    def spy(request: Any, handoff_settings: Any, message: Any, now: Any = None) -> Any:
        calls.append((request.channel, request.reason, message.follow_up))
        return real_hand_over(request, handoff_settings, message, now)

    monkeypatch.setattr("mail.escalation.hand_over", spy)
    agent = FakeAgent(domain)
    mail_in = payload(settings, f"The lamp of order {ORDER_NUMBER} arrived broken.",
                      subject="Complaint: broken lamp",
                      attachments=[("lamp.jpg", "image/jpeg", b"x" * 2048)])
    result = asyncio.run(MailConversations(settings).handle(agent, mail_in, no_turn))

    assert result["outcome"] == "handed_off"
    assert calls == [("email", "email_complaint", FOLLOW_UP)]
    conversation = result["conversation_id"]
    case = crm.find_open_handoff(conversation)
    assert case is not None and case.channel == "email" and case.order_number == ORDER_NUMBER
    assert case.subject == "Email handoff: a complaint by e-mail"
    (root,) = [post for post in slack.posts(channel=CHANNEL) if "thread_ts" not in post]
    blocks = json.dumps(root["blocks"])
    assert f"Email handoff: case #{case.id}" in blocks and "Anna Berg" in blocks
    thread = slack.posts(thread_ts=case.slack_thread_ts)
    assert len(thread) == 1
    assert thread[0]["text"].startswith("Customer: Subject: Complaint: broken lamp\n\n")
    assert thread[0]["text"].endswith("\n(attachment not opened: lamp.jpg (image/jpeg, 2 KB))")
    tracker = asyncio.run(agent.get_tracker(conversation))
    slots = tracker.current_slot_values()
    assert slots["handoff_active"] is True and int(slots["handoff_case_id"]) == case.id
    assert tracker.latest_bot_utterance is not None
    assert tracker.latest_bot_utterance.metadata["utter_action"] == "utter_handoff_started"
    (reply,) = sent(tmp_path)
    assert f"#{case.id}" in reply
    assert EMAIL not in json.dumps([call.params for call in slack.calls])


def test_without_slack_the_mail_waits_on_an_open_case_to_answer_by_mail(
        crm: OrderStore, slack: FakeSlackApi, settings: MailSettings, domain: Domain,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slack.fail["chat.postMessage"] = "channel_not_found"
    agent = FakeAgent(domain)
    mail_in = payload(settings, "Det här är en reklamation om min lampa.",
                      subject="Reklamation")
    result = asyncio.run(MailConversations(settings).handle(agent, mail_in, no_turn))

    assert result["outcome"] == "case_opened"
    conversation = result["conversation_id"]
    assert crm.find_open_handoff(conversation) is None
    case = crm.find_open_case(conversation)
    assert case is not None and (case.status, case.channel) == ("open", "email")
    assert case.subject == f"{FOLLOW_UP} (Slack unavailable): a complaint by e-mail"
    recorded = interactions(crm, conversation)
    assert recorded and recorded[-1][0] == "in"
    assert recorded[-1][1].startswith("Subject: Reklamation\n\nDet här är en reklamation")
    tracker = asyncio.run(agent.get_tracker(conversation))
    assert tracker.current_slot_values().get("handoff_active") is not True
    assert tracker.latest_bot_utterance is not None
    assert tracker.latest_bot_utterance.metadata["utter_action"] == "utter_handoff_unavailable"
    assert len(sent(tmp_path)) == 1


def test_the_mail_channel_talks_to_slack_only_through_the_handoff_package() -> None:
    for path in sorted((ROOT / "mail").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] in ("slack_sdk", "slack_bolt") for name in names), (
                f"{path.name} imports Slack itself")
