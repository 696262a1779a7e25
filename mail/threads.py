"""Mail threads: which conversation a mail belongs to, and what a reply needs to thread.

One thread (Message-ID / In-Reply-To / References) from one sender is one conversation. Its id
is derived from the thread's root Message-ID and the sender's address with a keyed hash
(nordvik.secrets.pseudonym), so it is stable, says nothing about either, and another sender who
quotes the same thread gets a conversation of their own (they never see the first customer's
order in hand).

Tables in the store's database (DATABASE_URL; created on first use, like the knowledge feedback
tables), both keyed by `conversation_id`, so `store forget` erases them with the conversation:

    mail_threads   conversation_id, customer (sealed, purpose "email"), subject, language,
                   reply_to (the latest inbound Message-ID), refs (the References chain)
    mail_messages  a keyed hash of every Message-ID seen or sent in the thread, its direction,
                   the spool id and the outcome of an inbound mail (received -> done)

A mail whose Message-ID was already processed is a duplicate (an MTA retry): it gets no second
answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from nordvik.secrets import pseudonym, seal, unseal
from store.side_tables import SideTables

logger = logging.getLogger(__name__)

metadata = MetaData()
MAX_REFERENCES = 20
CONVERSATION_PREFIX = "email-"
EMAIL_PURPOSE = "email"

mail_threads = Table(
    "mail_threads", metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("customer", Text, nullable=False),  # sealed address
    Column("subject", String(300), nullable=False, default=""),
    Column("language", String(8)),
    Column("reply_to", String(255), nullable=False),
    Column("refs", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

mail_messages = Table(
    "mail_messages", metadata,
    Column("message_key", String(64), primary_key=True),
    Column("conversation_id", String(64), nullable=False, index=True),
    Column("direction", String(3), nullable=False),
    Column("mail_id", String(80)),
    Column("state", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


class ThreadStoreUnavailable(RuntimeError):
    """The database of the mail threads cannot be reached (the mail is retried later)."""


@dataclass(frozen=True)
class MailThread:
    conversation_id: str
    customer_sealed: str
    subject: str
    language: str | None
    reply_to: str
    references: tuple[str, ...]

    def customer(self) -> str | None:
        return unseal(self.customer_sealed, purpose=EMAIL_PURPOSE)


@dataclass(frozen=True)
class Placement:
    """Where an inbound mail belongs."""

    conversation_id: str
    is_new_thread: bool
    earlier_state: str | None  # "received" (an earlier attempt failed) or "done" (duplicate)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def message_key(message_id: str) -> str:
    return pseudonym(message_id.strip().lower(), purpose="mail-message-id")


def conversation_id_for(root_message_id: str, sender: str) -> str:
    key = pseudonym(f"{root_message_id.strip().lower()}\n{sender}", purpose="mail-thread")
    return CONVERSATION_PREFIX + key[:24]


class ThreadStore(SideTables):
    """The mail threads in a database (SQLite or PostgreSQL), tables created on first use."""

    def __init__(self, database_url: str) -> None:
        super().__init__(database_url, metadata, ThreadStoreUnavailable, "mail threads")

    def thread(self, conversation_id: str) -> MailThread | None:
        def work(connection: Any) -> MailThread | None:
            row = connection.execute(select(mail_threads).where(
                mail_threads.c.conversation_id == conversation_id)).first()
            if row is None:
                return None
            return MailThread(row.conversation_id, row.customer, row.subject, row.language,
                              row.reply_to, tuple(row.refs.split()) if row.refs else ())
        result: MailThread | None = self._run(work)
        return result

    def place(self, message_id: str, earlier_ids: tuple[str, ...], sender: str) -> Placement:
        """The conversation of an inbound mail from `sender` answering `earlier_ids`."""
        def work(connection: Any) -> Placement:
            own = connection.execute(select(mail_messages).where(
                mail_messages.c.message_key == message_key(message_id))).first()
            if own is not None:
                return Placement(own.conversation_id, False, own.state)
            for earlier in reversed(earlier_ids):
                row = connection.execute(select(mail_messages.c.conversation_id).where(
                    mail_messages.c.message_key == message_key(earlier))).first()
                if row is None:
                    continue
                thread = connection.execute(select(mail_threads.c.customer).where(
                    mail_threads.c.conversation_id == row.conversation_id)).first()
                if thread is not None and unseal(thread.customer, purpose=EMAIL_PURPOSE) == sender:
                    return Placement(row.conversation_id, False, None)
            root = earlier_ids[0] if earlier_ids else message_id
            conversation = conversation_id_for(root, sender)
            known = connection.execute(select(mail_threads.c.conversation_id).where(
                mail_threads.c.conversation_id == conversation)).first()
            return Placement(conversation, known is None, None)
        result: Placement = self._run(work)
        return result

    def record_inbound(self, placement: Placement, *, message_id: str, earlier_ids: tuple[str, ...],
                       mail_id: str, sender: str, subject: str, language: str | None) -> None:
        """Note the mail as received in its thread (before the assistant sees it)."""
        now = _now()

        def work(connection: Any) -> None:
            thread = connection.execute(select(mail_threads).where(
                mail_threads.c.conversation_id == placement.conversation_id)).first()
            chain = list(thread.refs.split()) if thread is not None and thread.refs else []
            for known in (*earlier_ids, message_id):
                if known not in chain:
                    chain.append(known)
            refs = " ".join(chain[:1] + chain[1:][-(MAX_REFERENCES - 1):])
            if thread is None:
                connection.execute(insert(mail_threads).values(
                    conversation_id=placement.conversation_id,
                    customer=seal(sender, purpose=EMAIL_PURPOSE), subject=subject[:300],
                    language=language, reply_to=message_id[:255], refs=refs,
                    created_at=now, updated_at=now))
            else:
                connection.execute(update(mail_threads).where(
                    mail_threads.c.conversation_id == placement.conversation_id).values(
                    reply_to=message_id[:255], refs=refs, updated_at=now,
                    **({"language": language} if language else {})))
            if placement.earlier_state is None:
                try:
                    with connection.begin_nested():
                        connection.execute(insert(mail_messages).values(
                            message_key=message_key(message_id),
                            conversation_id=placement.conversation_id, direction="in",
                            mail_id=mail_id, state="received", created_at=now))
                except IntegrityError:
                    pass  # the same mail, placed twice at once: the first one wins
        self._run(work)

    def finish_inbound(self, message_id: str, outcome: str) -> None:
        self._run(lambda connection: connection.execute(update(mail_messages).where(
            mail_messages.c.message_key == message_key(message_id)).values(
            state=f"done:{outcome}"[:20])))

    def record_outbound(self, conversation_id: str, message_id: str,
                        language: str | None = None) -> None:
        """Note a reply we sent, so that an answer quoting only it finds the thread."""
        def work(connection: Any) -> None:
            try:
                with connection.begin_nested():
                    connection.execute(insert(mail_messages).values(
                        message_key=message_key(message_id), conversation_id=conversation_id,
                        direction="out", mail_id=None, state="sent", created_at=_now()))
            except IntegrityError:
                return
            thread = connection.execute(select(mail_threads.c.refs).where(
                mail_threads.c.conversation_id == conversation_id)).first()
            if thread is not None:
                chain = thread.refs.split() if thread.refs else []
                chain.append(message_id)
                values: dict[str, Any] = {
                    "refs": " ".join(chain[:1] + chain[1:][-(MAX_REFERENCES - 1):]),
                    "updated_at": _now()}
                if language:
                    values["language"] = language
                connection.execute(update(mail_threads).where(
                    mail_threads.c.conversation_id == conversation_id).values(**values))
        self._run(work)
