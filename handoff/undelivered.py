"""An agent's reply that a messaging app's reply window kept from the customer, offered by e-mail.

WhatsApp and Messenger take free-form replies only within 24 hours of the customer's last
message (docs/MESSAGING.md, "Reply windows"). When an agent's reply misses that window and the
conversation has a verified customer, three parts of the product take a turn, and this module is
what they share (the handoff package sits below all three in pyproject.toml's layers):

1. The messaging channel in the Rasa server (messaging/turns.py) keeps the reply here
   (`UndeliveredReplies.keep`: the text sealed, the conversation's language, the verified
   customer) and posts the note into the handoff thread with a "Send it by e-mail" button
   (`note_blocks`). The button carries the kept reply's id, never its text: Slack limits a
   button's value to 2000 characters, an agent's reply may be longer.
2. The Slack app (bot/listeners/handoff/email.py) handles a click: `request_email` asks the Rasa
   server's e-mail channel to send the kept reply (`POST /webhooks/email/undelivered`, Rasa's
   API token as the bearer, as for trigger_intent), then updates the note with who sent it, or
   says in the thread why it could not be sent.
3. The e-mail channel (mail/undelivered.py) claims the reply (`claim`: the first click sends, a
   second finds it taken), composes the mail with the channel's own composer and catalogue
   texts, sends it through the channel's one outgoing path (mail.smtp.send_or_queue: SMTP, or
   the outbox the mail receiver retries) to the customer's address on file in the store (never
   one typed in a conversation), records it as an interaction on channel `email`, and marks the
   reply done (its text is dropped then).

Why a call over HTTP and not an import: bot, mail and messaging are independent siblings (the
import-linter contracts `layers` and `channels`), and composing and sending mail belongs to the
mail package. The Slack app already drives the Rasa server over HTTP; the Rasa server hosts the
e-mail channel; so one sender serves both, and no package imports a sibling.

The table `undelivered_replies` lives in the store's database beside the CRM (created on first
use), keyed by `conversation_id`, so `store forget` erases it with the conversation; rows older
than KEEP_DAYS go when a new reply is kept. Nothing here logs a reply's text or an address.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    or_,
    select,
    update,
)

from handoff.relay import HandoffSettings, language_label
from nordvik.secrets import seal, unseal
from nordvik.text import escape_mrkdwn
from store.errors import StoreUnavailable
from store.settings import StoreSettings
from store.side_tables import SideTables

logger = logging.getLogger(__name__)

SEND_BY_EMAIL_ACTION_ID = "handoff_send_by_email"
ROUTE = "/webhooks/email/undelivered"  # mail/channel.py: the e-mail channel's blueprint
TEXT_PURPOSE = "undelivered-reply"
KEEP_DAYS = 30
STALE_CLAIM_SECONDS = 300.0  # a claim whose sender died is taken again after this
MAX_TEXT_CHARS = 20_000
# What the e-mail channel answers (JSON "outcome"): the mail left ("sent"), or is in the outbox
# to be retried ("queued"); it had already gone ("already_sent"), or another click is sending it
# now ("sending"); no such kept reply ("unknown"); no address on file ("no_address").
DONE_STATES = ("sent", "queued")

metadata = MetaData()

undelivered_replies = Table(
    "undelivered_replies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("platform", String(20), nullable=False),
    Column("case_id", Integer),
    Column("customer_id", Integer, nullable=False),
    Column("order_number", String(20)),
    Column("language", String(8), nullable=False),
    Column("text", Text, nullable=False),  # sealed; "" once sent
    Column("state", String(10), nullable=False),  # pending | sending | sent | queued
    Column("agent", String(40)),  # the Slack user who sent it by e-mail
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)


class UndeliveredUnavailable(StoreUnavailable):
    """The store's database cannot be reached (the message names no customer)."""


@dataclass(frozen=True)
class KeptReply:
    id: int
    conversation_id: str
    platform: str
    case_id: int | None
    customer_id: int
    order_number: str | None
    language: str
    text: str | None  # None once sent (or when it cannot be unsealed)
    state: str
    agent: str | None


class UndeliveredReplies(SideTables):
    """The kept replies in the store's database (SQLite or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url, metadata, UndeliveredUnavailable, "undelivered replies")

    def keep(self, *, conversation_id: str, platform: str, customer_id: int, language: str,
             text: str, case_id: int | None = None, order_number: str | None = None,
             now: float | None = None) -> int:
        """Keep an agent's reply that did not reach the customer; its id (the button's value)."""
        at = time.time() if now is None else now

        def work(connection: Any) -> int:
            connection.execute(delete(undelivered_replies).where(
                undelivered_replies.c.created_at < at - KEEP_DAYS * 86400))
            result = connection.execute(insert(undelivered_replies).values(
                conversation_id=conversation_id, platform=platform, case_id=case_id,
                customer_id=customer_id, order_number=order_number, language=language,
                text=seal(text[:MAX_TEXT_CHARS], purpose=TEXT_PURPOSE), state="pending",
                created_at=at, updated_at=at))
            return int(result.inserted_primary_key[0])

        kept: int = self._run(work, write=True)
        return kept

    def get(self, reply_id: int) -> KeptReply | None:
        def work(connection: Any) -> KeptReply | None:
            row = connection.execute(select(undelivered_replies).where(
                undelivered_replies.c.id == reply_id)).mappings().first()
            if row is None:
                return None
            return KeptReply(int(row["id"]), row["conversation_id"], row["platform"],
                             row["case_id"], int(row["customer_id"]), row["order_number"],
                             row["language"], unseal(row["text"], purpose=TEXT_PURPOSE),
                             row["state"], row["agent"])

        found: KeptReply | None = self._run(work)
        return found

    def claim(self, reply_id: int, agent: str,
              now: float | None = None) -> tuple[KeptReply, bool] | None:
        """Take the reply for sending: (the reply, True) for the one caller that may send it,
        (the reply, False) when it is sent or being sent; None for an unknown id."""
        at = time.time() if now is None else now
        table = undelivered_replies.c

        def work(connection: Any) -> int:
            return int(connection.execute(update(undelivered_replies).where(
                table.id == reply_id,
                or_(table.state == "pending",
                    (table.state == "sending") & (table.updated_at < at - STALE_CLAIM_SECONDS)),
            ).values(state="sending", agent=agent[:40], updated_at=at)).rowcount)

        owned = self._run(work, write=True) == 1
        reply = self.get(reply_id)
        return None if reply is None else (reply, owned)

    def finish(self, reply_id: int, state: str) -> None:
        """The mail left (or waits in the outbox): the text is no longer kept."""
        if state not in DONE_STATES:
            raise ValueError(f"a kept reply ends as one of {DONE_STATES}, not {state!r}")
        self._run(lambda connection: connection.execute(update(undelivered_replies).where(
            undelivered_replies.c.id == reply_id).values(state=state, text="",
                                                         updated_at=time.time())), write=True)

    def release(self, reply_id: int) -> None:
        """Sending failed: the reply waits for another click."""
        self._run(lambda connection: connection.execute(update(undelivered_replies).where(
            undelivered_replies.c.id == reply_id,
            undelivered_replies.c.state == "sending").values(state="pending", agent=None,
                                                             updated_at=time.time())), write=True)


@lru_cache(maxsize=4)
def _replies_at(database_url: str) -> UndeliveredReplies:
    return UndeliveredReplies(database_url)


def kept_replies() -> UndeliveredReplies:
    """The kept replies of the store this process uses (DATABASE_URL)."""
    return _replies_at(StoreSettings.from_env().database_url)


# --- the note in the handoff thread (Block Kit) --------------------------------------------------


def note_blocks(text: str, reply_id: int) -> list[dict[str, Any]]:
    """The note (why the reply was not delivered) with its "Send it by e-mail" button."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}},
        {"type": "actions", "block_id": f"undelivered_{reply_id}", "elements": [
            {"type": "button", "action_id": SEND_BY_EMAIL_ACTION_ID, "style": "primary",
             "text": {"type": "plain_text", "text": "Send it by e-mail"},
             "value": str(reply_id)}]},
    ]


def emailed_line(outcome: str, agent: str, language: str) -> str:
    """What the note says once the reply went by e-mail ("sent") or waits in the outbox."""
    who = f"<@{escape_mrkdwn(agent)}>"
    if outcome == "queued":
        return (f":email: Sent by e-mail by {who} ({language_label(language)}): the mail "
                "server did not take it at once, so it waits in the outbox and is retried.")
    return (f":email: Sent by e-mail by {who} to the customer's address on file "
            f"({language_label(language)}).")


def emailed_blocks(blocks: list[dict[str, Any]], line: str) -> list[dict[str, Any]]:
    """The note once sent: the button gives way to who sent it."""
    kept = [block for block in blocks if block.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}]


# --- the Slack app's request to the e-mail channel -----------------------------------------------


class EmailRequestError(RuntimeError):
    """The e-mail channel did not send the reply; `reason` is "store", "mail" or "unreachable"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def request_email(settings: HandoffSettings, reply_id: int, agent: str) -> dict[str, Any]:
    """Ask the Rasa server's e-mail channel to send a kept reply: its JSON answer
    ({"outcome", "agent", "language"}). EmailRequestError when it did not."""
    body = json.dumps({"reply_id": reply_id, "agent": agent}).encode("utf-8")
    request = urllib.request.Request(
        settings.rasa_url.rstrip("/") + ROUTE, data=body, method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": f"Bearer {settings.rasa_token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - RASA_URL
            result = json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        reason = {503: "store", 502: "mail"}.get(exc.code, "unreachable")
        logger.warning("the e-mail channel answered HTTP %s for kept reply %s", exc.code,
                       reply_id)
        raise EmailRequestError(reason) from exc
    except (OSError, ValueError) as exc:
        logger.warning("the e-mail channel was not reached for kept reply %s: %s", reply_id,
                       type(exc).__name__)
        raise EmailRequestError("unreachable") from exc
    if not isinstance(result, dict) or not isinstance(result.get("outcome"), str):
        raise EmailRequestError("unreachable")
    return result
