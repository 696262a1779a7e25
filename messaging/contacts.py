"""Who a messaging conversation is with, and what a reply to them needs.

One customer on one platform is one conversation. Its id is a keyed hash of the platform and
the platform's user id (`wa-…`, `fb-…`, `line-…`, nordvik.secrets.pseudonym), so it says nothing
about the customer; the platform's address (a WhatsApp number, a page-scoped id, a LINE user id)
is kept sealed. Table `messaging_contacts` in the store's database (DATABASE_URL), created on
first use and keyed by `conversation_id`, so `store forget` erases it with the conversation:

    conversation_id, platform, address (sealed, purpose "messaging"), last_inbound (epoch s),
    reply_token, reply_token_at (LINE; used once), choices (JSON: the numbered choices the
    customer may answer next)

and `messaging_seen` (a keyed hash of each inbound message id, its conversation, when), so a
webhook the platform delivers again (Messenger and LINE redeliver when an answer was late) is
answered once.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from messaging.formatting import Choice
from nordvik.secrets import pseudonym, seal, unseal
from store.side_tables import SideTables

logger = logging.getLogger(__name__)

ADDRESS_PURPOSE = "messaging"
PREFIXES = {"whatsapp": "wa", "messenger": "fb", "line": "line"}

metadata = MetaData()
messaging_contacts = Table(
    "messaging_contacts", metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("platform", String(16), nullable=False),
    Column("address", Text, nullable=False),
    Column("last_inbound", Float),
    Column("reply_token", String(200)),
    Column("reply_token_at", Float),
    Column("choices", Text),
)


messaging_seen = Table(
    "messaging_seen", metadata,
    Column("message_key", String(64), primary_key=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("seen_at", Float, nullable=False),
)
SEEN_DAYS = 7


class ContactStoreUnavailable(RuntimeError):
    """The store's database cannot be reached (the message names no customer)."""


@dataclass(frozen=True)
class Contact:
    conversation_id: str
    platform: str
    sealed_address: str
    last_inbound: float | None
    reply_token: str | None
    reply_token_at: float | None
    choices: tuple[Choice, ...]

    def address(self) -> str | None:
        return unseal(self.sealed_address, purpose=ADDRESS_PURPOSE)


def conversation_id_for(platform: str, user_id: str) -> str:
    return f"{PREFIXES[platform]}-{pseudonym(f'{platform}:{user_id}', purpose='messaging')[:24]}"


def _choices(raw: str | None) -> tuple[Choice, ...]:
    try:
        items = json.loads(raw) if raw else []
        return tuple(Choice(str(title), str(payload)) for title, payload in items)
    except (ValueError, TypeError):
        return ()


class ContactStore(SideTables):
    """The contacts in a database (SQLite or PostgreSQL)."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url, metadata, ContactStoreUnavailable, "messaging contacts")

    def get(self, conversation_id: str) -> Contact | None:
        def work(connection: Any) -> Contact | None:
            row = connection.execute(select(messaging_contacts).where(
                messaging_contacts.c.conversation_id == conversation_id)).mappings().first()
            if row is None:
                return None
            return Contact(row["conversation_id"], row["platform"], row["address"],
                           row["last_inbound"], row["reply_token"], row["reply_token_at"],
                           _choices(row["choices"]))

        result: Contact | None = self._run(work)
        return result

    def inbound(self, platform: str, user_id: str, *, reply_token: str | None = None,
                at: float | None = None) -> str:
        """Note a message from `user_id` (opening the reply window); its conversation id."""
        conversation = conversation_id_for(platform, user_id)
        now = time.time() if at is None else at
        values: dict[str, Any] = {"last_inbound": now}
        if reply_token:
            values.update(reply_token=reply_token[:200], reply_token_at=now)

        def work(connection: Any) -> None:
            changed = connection.execute(update(messaging_contacts).where(
                messaging_contacts.c.conversation_id == conversation).values(**values)).rowcount
            if changed:
                return
            try:
                with connection.begin_nested():
                    connection.execute(insert(messaging_contacts).values(
                        conversation_id=conversation, platform=platform,
                        address=seal(user_id, purpose=ADDRESS_PURPOSE), **values))
            except IntegrityError:  # a concurrent first message
                connection.execute(update(messaging_contacts).where(
                    messaging_contacts.c.conversation_id == conversation).values(**values))

        self._run(work)
        return conversation

    def take_reply_token(self, conversation_id: str, max_age_seconds: float) -> str | None:
        """The conversation's reply token if it is fresh and unused (it is used up now)."""
        contact = self.get(conversation_id)
        if contact is None or not contact.reply_token or contact.reply_token_at is None:
            return None
        fresh = time.time() - contact.reply_token_at <= max_age_seconds

        def work(connection: Any) -> int:
            return int(connection.execute(update(messaging_contacts).where(
                messaging_contacts.c.conversation_id == conversation_id,
                messaging_contacts.c.reply_token == contact.reply_token,
            ).values(reply_token=None, reply_token_at=None)).rowcount)

        taken = self._run(work)
        return contact.reply_token if taken and fresh else None

    def first_time(self, conversation_id: str, platform: str, message_id: str) -> bool:
        """True the first time a message id is seen (a redelivery gets False); ids older than
        SEEN_DAYS are forgotten on the way."""
        key = pseudonym(f"{platform}:{message_id}", purpose="messaging-id")
        now = time.time()

        def work(connection: Any) -> bool:
            try:
                with connection.begin_nested():
                    connection.execute(insert(messaging_seen).values(
                        message_key=key, conversation_id=conversation_id, seen_at=now))
            except IntegrityError:
                return False
            connection.execute(delete(messaging_seen).where(
                messaging_seen.c.seen_at < now - SEEN_DAYS * 86400))
            return True

        return bool(self._run(work))

    def set_choices(self, conversation_id: str, choices: tuple[Choice, ...]) -> None:
        raw = json.dumps([[c.title, c.payload] for c in choices]) if choices else None
        self._run(lambda connection: connection.execute(update(messaging_contacts).where(
            messaging_contacts.c.conversation_id == conversation_id).values(choices=raw)))

    def set_last_inbound(self, conversation_id: str, at: float) -> None:
        """For tests and operators: move the reply window (e.g. to see it closed)."""
        self._run(lambda connection: connection.execute(update(messaging_contacts).where(
            messaging_contacts.c.conversation_id == conversation_id).values(last_inbound=at)))
