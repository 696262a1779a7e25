"""Starting a handoff and forwarding the customer's messages: the one handoff path of every
channel. The chat, the phone and the messaging apps start it from a Rasa action
(actions/handoff.py); the e-mail channel, which decides after the turn, calls `hand_over`.

    outcome = start_handoff(HandoffRequest(...), settings)
    outcome.kind -> "started" | "already_active" | "unavailable"
    outcome = hand_over(HandoffRequest(...), settings, CustomerMessage(...))
    outcome.kind -> the same; when "unavailable", case_id is a case left open to follow up

A channel supplies how to reach the customer (its name, the conversation, the message the agent
must read whole, how a case is answered without Slack); this package does the rest: the case, the
Slack thread, the customer's messages and notes in it. Agent replies come back through Rasa's
trigger_intent to the channel's output (handoff/relay.py, bot/listeners/handoff).

A conversation has at most one open case: a handoff reuses the conversation's open case (a
return's, for example) and marks it handed off, with the real reason in its subject. The post
in Slack says which language the customer writes, and its knowledge suggestions are searched in
that language. Nothing here is customer-facing text: callers utter catalogue responses for the
outcome (utter_handoff_started, utter_handoff_started_offline, utter_handoff_already_active,
utter_handoff_unavailable).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from handoff.relay import (
    HandoffContext,
    HandoffSettings,
    TranscriptLine,
    agents_on_duty,
    handoff_blocks,
    handoff_fallback_text,
)
from kb_index.client import HttpKnowledgeClient
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from message_catalogue.formatting import order_summary
from nordvik.text import clip, redact_emails
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

# Why a conversation went to a person: the case subject and the Slack post (agents read these).
REASONS: dict[str, str] = {
    "requested": "the customer asked for a person",
    "complaint": "complaint",
    "not_understood": "the bot could not answer the customer's question",
    "knowledge_not_helpful": "the help articles did not answer the customer's question",
    "knowledge_unavailable": "the help articles could not be searched",
    "verification_locked": "the order could not be verified; the customer accepted a person",
    "store_unavailable": "the order system was unavailable",
    "email_unclear": "an e-mail the bot could not answer",
    "email_complaint": "a complaint by e-mail",
}
DEFAULT_REASON = "not_understood"


def reason_text(code: str | None) -> str:
    return REASONS.get(code or DEFAULT_REASON, REASONS[DEFAULT_REASON])


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    channel: str  # chat or email
    reason: str  # a REASONS code
    language: str
    transcript: tuple[TranscriptLine, ...]
    question: str  # the customer's latest question, for the knowledge suggestions
    order: Any | None = None  # store.views.OrderDetails of a verified order


@dataclass(frozen=True)
class HandoffOutcome:
    kind: str  # started | already_active | unavailable
    case_id: int
    agents_on_duty: bool = True


@dataclass(frozen=True)
class CustomerMessage:
    """A message that goes to the agent whole with the handoff (a mail, say), not as chat turns.

    Forwarded into the Slack thread; when Slack cannot take the handoff, kept on a case left
    open with the subject `f"{follow_up} (Slack unavailable): {reason}"`."""

    text: str
    follow_up: str  # how that case is answered, e.g. "E-mail to answer by e-mail"
    attachments: tuple[str, ...] = ()  # "name (type, size)", never opened

    def with_attachments(self) -> str:
        return self.text + attachment_lines(self.attachments, lead="\n")


def attachment_lines(attachments: Sequence[str], lead: str = "") -> str:
    """'(attachment not opened: name)', one a line, after `lead`; "" without attachments."""
    if not attachments:
        return ""
    return lead + "\n".join(f"(attachment not opened: {name})" for name in attachments)


def _store() -> Any:
    return get_store()


def suggestions(question: str, language: str) -> tuple[tuple[tuple[str, str, str], ...],
                                                         str | None]:
    """Top 3 knowledge suggestions for the agent (public and internal articles, in the
    customer's language), or a note why there are none."""
    if not question.strip():
        return (), "no customer question to search for"
    try:
        hits = HttpKnowledgeClient.from_env().search(
            question, k=3, lang=language, audience=("public", "internal"))
    except (KnowledgeUnavailable, InvalidQuery):
        logger.warning("knowledge suggestions unavailable for a handoff", exc_info=True)
        return (), "knowledge index unavailable"
    return tuple((hit.title, hit.url, hit.passage) for hit in hits[:3]), None


def order_summary_line(order: Any) -> str:
    return order_summary(order)


def start_handoff(request: HandoffRequest, settings: HandoffSettings,
                  now: datetime | None = None) -> HandoffOutcome:
    """Open (or reuse) the conversation's case and post it to the Slack handoff channel.

    StoreError propagates (the caller says the store is unavailable)."""
    crm = _store()
    existing = crm.find_open_handoff(request.conversation_id)
    if existing is not None:
        return HandoffOutcome("already_active", existing.id)
    reason = reason_text(request.reason)
    order = request.order
    # The conversation's open case (a return's, for example) is handed off only once the post
    # is in Slack: if Slack fails, it stays open for its own follow-up instead of being closed.
    reused = crm.find_open_case(request.conversation_id)
    if reused is not None:
        case = reused
    else:
        case = crm.open_case(
            subject=f"{request.channel.capitalize()} handoff: {reason}", channel=request.channel,
            customer_id=order.customer_id if order else None,
            order_number=order.number if order else None,
            conversation_id=request.conversation_id, status="handoff",
        )
    missing = settings.missing()
    if missing:
        logger.error("handoff case %s not posted to Slack: %s", case.id, missing)
        if reused is None:
            crm.close_case(case.id, "not handed off: Slack handoff is not configured")
        return HandoffOutcome("unavailable", case.id)
    found, note = suggestions(request.question, request.language)
    context = HandoffContext(
        case_id=case.id, conversation_id=request.conversation_id, reason=reason,
        customer=order.customer_name if order else None,
        order_summary=order_summary_line(order) if order else None,
        transcript=request.transcript, suggestions=found, suggestions_note=note,
        language=request.language, channel=request.channel,
    )
    try:
        posted = settings.slack_client().chat_postMessage(
            channel=settings.channel, text=handoff_fallback_text(context),
            blocks=handoff_blocks(context), unfurl_links=False,
        )
        thread = (str(posted.get("channel") or settings.channel), str(posted["ts"]))
    except (SlackApiError, SlackClientError, OSError, KeyError):
        logger.exception("handoff case %s could not be posted to Slack", case.id)
        if reused is None:
            crm.close_case(case.id, "not handed off: Slack unavailable; follow up by e-mail")
        return HandoffOutcome("unavailable", case.id)
    if reused is not None:
        crm.hand_off_case(case.id, reason)
    crm.attach_slack_thread(case.id, *thread)
    logger.info("conversation handed off as case %s (language %s)", case.id, request.language)
    return HandoffOutcome("started", case.id, agents_on_duty(now or datetime.now(timezone.utc)))


def forward_customer_message(conversation_id: str, channel: str, text: str,
                             settings: HandoffSettings, *,
                             attachments: Sequence[str] = ()) -> str:
    """Post the customer's message to the open handoff's Slack thread and record it.

    Returns "delivered", "not_delivered" (Slack failed) or "closed" (no open handoff: the agent
    closed it while the chat server was away; the CRM decides). StoreError propagates."""
    crm = _store()
    case = crm.find_open_handoff(conversation_id)
    if case is None or not case.slack_thread_ts:
        return "closed"
    try:
        crm.record_interaction(conversation_id=conversation_id, channel=channel, direction="in",
                               text=redact_emails(text), customer_id=case.customer_id,
                               order_number=case.order_number)
    except StoreError:  # the message still goes to the agent
        logger.exception("customer message of case %s not recorded as an interaction", case.id)
    note = attachment_lines(attachments, lead="\n")
    try:
        settings.slack_client().chat_postMessage(
            channel=case.slack_channel or settings.channel, thread_ts=case.slack_thread_ts,
            text=f"Customer: {text}{note}", unfurl_links=False,
        )
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("customer message for case %s not posted to Slack", case.id)
        return "not_delivered"
    return "delivered"


def note_in_thread(conversation_id: str, text: str, settings: HandoffSettings,
                   blocks: Sequence[dict[str, Any]] | None = None) -> bool:
    """Post a note for the agent (not the customer's words: a delivery problem, say) into the
    conversation's open handoff thread, with `blocks` when given (`text` is their fallback).
    False when there is none or Slack failed; StoreError propagates."""
    case = _store().find_open_handoff(conversation_id)
    if case is None or not case.slack_thread_ts:
        return False
    extra: dict[str, Any] = {"blocks": list(blocks)} if blocks else {}
    try:
        settings.slack_client().chat_postMessage(
            channel=case.slack_channel or settings.channel, thread_ts=case.slack_thread_ts,
            text=text, unfurl_links=False, **extra,
        )
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("note for case %s not posted to Slack", case.id)
        return False
    return True


def hand_over(request: HandoffRequest, settings: HandoffSettings, message: CustomerMessage,
              now: datetime | None = None) -> HandoffOutcome:
    """Start the handoff and forward `message` into its thread; when Slack cannot take it, a case
    left open to be answered as `message.follow_up` says, with the message recorded on it (its
    id is the outcome's case_id). StoreError propagates."""
    outcome = start_handoff(request, settings, now)
    if outcome.kind == "unavailable":
        return replace(outcome, case_id=_open_follow_up_case(request, message))
    delivered = forward_customer_message(request.conversation_id, request.channel, message.text,
                                         settings, attachments=message.attachments)
    if delivered != "delivered":
        logger.warning("the message of case %s did not reach its Slack thread (%s)",
                       outcome.case_id, delivered)
    return outcome


def _open_follow_up_case(request: HandoffRequest, message: CustomerMessage) -> int:
    crm = _store()
    order = request.order
    case = crm.open_case(
        subject=f"{message.follow_up} (Slack unavailable): {reason_text(request.reason)}",
        channel=request.channel, customer_id=order.customer_id if order else None,
        order_number=order.number if order else None, conversation_id=request.conversation_id,
        status="open")
    crm.record_interaction(conversation_id=request.conversation_id, channel=request.channel,
                           direction="in", text=clip(redact_emails(message.with_attachments()),
                                                     5000),
                           customer_id=case.customer_id, order_number=case.order_number)
    return int(case.id)


def note_attachments(conversation_id: str, channel: str, attachments: Sequence[str],
                     settings: HandoffSettings) -> bool:
    """Attachments that came during a handoff (never opened): recorded in the conversation and
    noted in the open handoff's thread. False when there is none or Slack failed; StoreError
    propagates."""
    note = attachment_lines(attachments)
    crm = _store()
    case = crm.find_open_handoff(conversation_id)
    crm.record_interaction(conversation_id=conversation_id, channel=channel, direction="in",
                           text=note, customer_id=case.customer_id if case else None)
    return note_in_thread(conversation_id, note, settings)
