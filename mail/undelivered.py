"""Sending by e-mail an agent's reply that a messaging app's reply window kept from the customer.

    result = UndeliveredMail(settings).send(reply_id, agent)
    result -> {"outcome": "sent" | "queued" | "already_sent" | "sending" | "unknown" |
               "no_address", "agent": ..., "language": ...}

The Slack app asks for it when an agent presses "Send it by e-mail" under the note in the handoff
thread (the route `POST /webhooks/email/undelivered` of mail/channel.py, with Rasa's API token);
handoff/undelivered.py says why the work is split this way (bot, mail and messaging are
independent siblings; the mail is composed and sent here, where the channel's one composer and
one sender are). The mail goes to the customer's address on file in the store (the customer the
conversation verified), in the conversation's language: the catalogue's subject, greeting and
signature around the agent's words, which a line of the catalogue introduces (why this came by
e-mail and not on WhatsApp or Messenger). It goes out through `send_or_queue`, so an SMTP server
that does not take it leaves it in the outbox for the mail receiver to retry (and to park with a
case in the end): nothing is lost. It is recorded as an interaction on channel `email`.

StoreError (the store, or the kept replies, unreachable) and SpoolError (the mail neither sent
nor kept) propagate after the reply is released for another click. Nothing here logs an address
or a message's text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from handoff.relay import channel_title
from handoff.undelivered import UndeliveredReplies, kept_replies
from mail.compose import ReplyParts, compose_reply, mail_text
from mail.settings import MailSettings
from mail.smtp import send_or_queue
from mail.spool import SpoolError
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES
from nordvik.text import clip, redact_emails
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

CHANNEL = "email"


class InvalidRequest(ValueError):
    """A request body that does not name a kept reply and an agent."""


def parse_request(body: Any) -> tuple[int, str]:
    """(reply id, the agent's Slack user id) from the Slack app's JSON body."""
    if not isinstance(body, Mapping):
        raise InvalidRequest("the body must be a JSON object")
    reply_id, agent = body.get("reply_id"), body.get("agent")
    if isinstance(reply_id, bool) or not isinstance(reply_id, int) or not 0 < reply_id < 2**31:
        raise InvalidRequest("'reply_id' must be a positive whole number")
    if not isinstance(agent, str) or not agent.strip() or len(agent) > 40:
        raise InvalidRequest("'agent' must be the Slack user id of the agent")
    return reply_id, agent.strip()


class UndeliveredMail:
    """The e-mail channel's side of "Send it by e-mail" (one per Rasa server)."""

    def __init__(self, settings: MailSettings, replies: UndeliveredReplies | None = None) -> None:
        self.settings = settings
        self._replies = replies

    @property
    def replies(self) -> UndeliveredReplies:
        return self._replies or kept_replies()

    def send(self, reply_id: int, agent: str) -> dict[str, Any]:
        """Send the kept reply once (see the module's text)."""
        claim = self.replies.claim(reply_id, agent)
        if claim is None:
            logger.warning("kept reply %s is unknown (or older than kept)", reply_id)
            return {"outcome": "unknown"}
        reply, owned = claim
        if not owned:
            done = reply.state in ("sent", "queued")
            logger.info("kept reply %s not sent again: %s", reply_id, reply.state)
            return {"outcome": "already_sent" if done else "sending", "agent": reply.agent,
                    "language": reply.language}
        language = reply.language if reply.language in LANGUAGES else DEFAULT_LANGUAGE
        try:
            address = get_store().customer_email(reply.customer_id)
        except StoreError:
            self.replies.release(reply_id)
            raise
        if address is None or not reply.text:
            logger.warning("kept reply %s of conversation %s: no address on file or no text",
                           reply_id, reply.conversation_id)
            self.replies.release(reply_id)
            return {"outcome": "no_address", "language": language}
        why = mail_text("mail_undelivered_note", language,
                        platform=channel_title(reply.platform))
        message = compose_reply(ReplyParts(
            to=address, subject="", reply_to=None, references=(), language=language,
            paragraphs=(why, reply.text), from_assistant=False), self.settings)
        try:
            status = send_or_queue(message, self.settings,
                                   conversation_id=reply.conversation_id)
        except OSError as exc:  # SpoolError, or the spool's folders not creatable
            logger.error("kept reply %s of conversation %s neither sent nor kept in the outbox: "
                         "%s", reply_id, reply.conversation_id, type(exc).__name__)
            self.replies.release(reply_id)
            raise SpoolError(f"kept reply {reply_id} neither sent nor kept") from exc
        self.replies.finish(reply_id, status)
        self._record(reply.conversation_id, reply.text, reply.customer_id, reply.order_number)
        logger.info("kept reply %s of conversation %s %s by e-mail (%s)", reply_id,
                    reply.conversation_id, status, language)
        return {"outcome": status, "agent": agent, "language": language}

    @staticmethod
    def _record(conversation: str, text: str, customer_id: int,
                order_number: str | None) -> None:
        try:
            get_store().record_interaction(
                conversation_id=conversation, channel=CHANNEL, direction="out",
                text=clip(redact_emails(text), 5000), customer_id=customer_id,
                order_number=order_number)
        except StoreError:  # the mail is out; only the history misses it
            logger.exception("the mailed reply of conversation %s was not recorded",
                             conversation)
