"""One inbound mail in the Rasa server: its conversation, the assistant's turn, and what follows.

    outcome = await MailConversations(settings).handle(agent, payload, on_new_message)
    outcome -> {"outcome": "replied" | "handed_off" | "case_opened" | "forwarded" | "silent" |
                "duplicate", "conversation_id": ...}

1. The thread store places the mail in its conversation (mail/threads.py) and notes it as
   received; a Message-ID already processed is a duplicate and gets nothing.
2. A mail with a problem (oversized, undecodable charset, malformed headers), and the first mail
   of a thread whose subject says it is a complaint, are logged into the conversation without a
   bot turn and handed to a person at once (reason email_unclear / email_complaint).
3. Anything else goes through the same NLU, rules and actions as a chat message, with metadata
   {"sender": sealed address, "language", "client"}. mail/decide.py reads the turn: a confident
   answer is mailed back in the thread, anything else is handed to a person.
4. Handing to a person: handoff.service.start_handoff (case + Slack thread with the transcript,
   the verified order and suggestions), the whole mail and its attachments (noted, never opened)
   posted into the thread, the handoff slots set in the tracker, and one mail to the customer
   saying a colleague will answer. Without Slack the case stays open to be answered by e-mail.

Nothing here logs an address or the mail's text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mail.compose import MAIL_VERSIONS, ReplyParts, compose_reply, mail_text, reply_paragraphs
from mail.decide import Decision, decide, turn_from_events
from mail.output import MailOutput, reply_case_id, slot_int
from mail.settings import MailSettings
from mail.smtp import send_or_queue
from mail.threads import Placement, ThreadStore
from nordvik.emails import redact_emails
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES, normalize_language
from nordvik.orders import find_order_numbers
from nordvik.secrets import unseal
from nordvik.text import clip

logger = logging.getLogger(__name__)

INPUT_CHANNEL = "email"
EMAIL_PURPOSE = "email"
COMPLAINT_SUBJECT = re.compile(
    r"\b(complaint|complain|reklamation|reklamasjon|klage|klagomål|klagemål)\b|投訴|投诉|客訴|申訴",
    re.IGNORECASE)
# Actions that record the customer's message and the answer in the CRM themselves.
RECORDING_ACTIONS = frozenset({"action_check_order_status", "action_prepare_cancel",
                               "action_cancel_order", "action_start_return",
                               "action_forward_to_agent"})
PROBLEM_NOTES = {
    "oversized": "the mail is too large to be read automatically",
    "charset": "the mail's text could not be decoded reliably",
    "malformed": "the mail's headers or structure are malformed",
    "retry": "an earlier attempt to process this mail failed",
}

OnNewMessage = Callable[[Any], Awaitable[Any]]


class InvalidPayload(ValueError):
    """The receiver's call does not carry a usable mail (the text says which field)."""


@dataclass(frozen=True)
class MailPayload:
    """What the receiver (mail/receiver.py) sends for one stored mail."""

    mail_id: str
    message_id: str
    earlier_ids: tuple[str, ...]
    subject: str
    sender: str  # sealed, purpose "email"
    client: str  # pseudonym of the address, for the verification limits
    language: str | None
    text: str  # for the NLU: quotes and signature removed, clipped
    agent_text: str  # for the agent: the same, longer
    attachments: tuple[str, ...]  # "name (type, size)"
    problems: tuple[str, ...]
    details: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Any) -> MailPayload:
        if not isinstance(body, Mapping):
            raise InvalidPayload("the body must be a JSON object")

        def text(name: str, required: bool = True, limit: int = 100_000) -> str:
            value = body.get(name)
            if value is None and not required:
                return ""
            if not isinstance(value, str) or (required and not value.strip()):
                raise InvalidPayload(f"'{name}' must be a non-empty string")
            return value[:limit]

        def strings(name: str) -> tuple[str, ...]:
            value = body.get(name) or []
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise InvalidPayload(f"'{name}' must be a list of strings")
            return tuple(v[:1000] for v in value[:100])

        return cls(
            mail_id=text("mail_id", limit=80), message_id=text("message_id", limit=255),
            earlier_ids=strings("earlier_ids"), subject=text("subject", False, 300),
            sender=text("sender", limit=2000), client=text("client", limit=64),
            language=normalize_language(body.get("language")),
            text=text("text", False), agent_text=text("agent_text", False),
            attachments=strings("attachments"), problems=strings("problems"),
            details=strings("details"),
        )


def order_context(verified_order: str | None, verified_customer: int | None, text: str,
                  sender: str) -> Any:
    """The order the agent sees: the conversation's verified order, else an order number in the
    mail that belongs to the sender. For the agent only; nothing is said to the customer."""
    from store import get_store

    crm = get_store()
    if verified_order and verified_customer is not None:
        order = crm.get_order(verified_order)
        if order is not None and order.customer_id == verified_customer:
            return order
    for number in find_order_numbers(text)[:3]:
        order = crm.verify_order(number, sender)
        if order is not None:
            return order
    return None


class MailConversations:
    """The e-mail channel's logic inside the Rasa server (one per process)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    @cached_property
    def threads(self) -> ThreadStore:
        from store.settings import StoreSettings

        return ThreadStore(StoreSettings.from_env().database_url)

    # --- replies ------------------------------------------------------------------------------

    async def send_reply(self, conversation_id: str, messages: Sequence[Mapping[str, Any]],
                         language: str | None, *, from_assistant: bool,
                         **params: Any) -> str | None:
        """One mail in the conversation's thread, in `language` (else the thread's); "sent",
        "queued", or None (nothing to send)."""
        thread = await asyncio.to_thread(self.threads.thread, conversation_id)
        if thread is None:
            logger.warning("no mail thread for conversation %s; reply not sent", conversation_id)
            return None
        if language not in LANGUAGES:
            language = thread.language if thread.language in LANGUAGES else DEFAULT_LANGUAGE
        assert language is not None
        address = thread.customer()
        if address is None:
            logger.error("the customer's address of conversation %s cannot be unsealed",
                         conversation_id)
            return None
        paragraphs = reply_paragraphs(messages, language, **params)
        if not paragraphs:
            return None
        reply = compose_reply(ReplyParts(
            to=address, subject=thread.subject, reply_to=thread.reply_to,
            references=thread.references, language=language, paragraphs=tuple(paragraphs),
            from_assistant=from_assistant), self.settings)
        status = await asyncio.to_thread(send_or_queue, reply, self.settings,
                                         conversation_id=conversation_id)
        await asyncio.to_thread(self.threads.record_outbound, conversation_id,
                                str(reply["Message-ID"]), language)
        logger.info("reply %s in conversation %s (%s, %d paragraphs)", status, conversation_id,
                    language, len(paragraphs))
        return status

    # --- inbound ------------------------------------------------------------------------------

    async def handle(self, agent: Any, mail: MailPayload,
                     on_new_message: OnNewMessage) -> dict[str, Any]:
        sender = unseal(mail.sender, purpose=EMAIL_PURPOSE)
        if sender is None:
            raise InvalidPayload("'sender' is not an address sealed for e-mail")
        placement = await asyncio.to_thread(self.threads.place, mail.message_id,
                                            mail.earlier_ids, sender)
        conversation = placement.conversation_id
        if placement.earlier_state and placement.earlier_state.startswith("done"):
            logger.info("mail %s is a duplicate in conversation %s; not answered again",
                        mail.mail_id, conversation)
            return {"outcome": "duplicate", "conversation_id": conversation}
        await asyncio.to_thread(
            self.threads.record_inbound, placement, message_id=mail.message_id,
            earlier_ids=mail.earlier_ids, mail_id=mail.mail_id, sender=sender,
            subject=mail.subject, language=mail.language)
        outcome = await self._process(agent, mail, placement, sender, on_new_message)
        await asyncio.to_thread(self.threads.finish_inbound, mail.message_id, outcome)
        logger.info("mail %s in conversation %s: %s", mail.mail_id, conversation, outcome)
        return {"outcome": outcome, "conversation_id": conversation}

    def _metadata(self, mail: MailPayload) -> dict[str, Any]:
        metadata: dict[str, Any] = {"sender": mail.sender, "client": mail.client}
        if mail.language:
            metadata["language"] = mail.language
        return metadata

    def _message(self, mail: MailPayload, conversation: str, output: Any,
                 text: str | None = None) -> Any:
        from rasa.core.channels.channel import UserMessage

        return UserMessage(text if text is not None else (mail.text or mail.subject or "-"),
                           output, conversation, input_channel=INPUT_CHANNEL,
                           metadata=self._metadata(mail))

    async def _process(self, agent: Any, mail: MailPayload, placement: Placement, sender: str,
                       on_new_message: OnNewMessage) -> str:
        conversation = placement.conversation_id
        problems = list(mail.problems)
        if placement.earlier_state == "received":
            problems.append("retry")
        complaint = placement.is_new_thread and bool(COMPLAINT_SUBJECT.search(mail.subject))
        if problems or complaint:
            for detail in mail.details:
                logger.warning("mail %s: %s", mail.mail_id, detail)
            reason = "email_unclear" if problems else "email_complaint"
            async with agent.lock_store.lock(conversation):
                text = mail.subject if "oversized" in problems else None
                await agent.processor.log_message(
                    self._message(mail, conversation, MailOutput(), text=text or None))
                return await self._hand_off(agent, mail, conversation, sender, reason, problems)
        output = MailOutput()
        await on_new_message(self._message(mail, conversation, output))
        tracker = await agent.tracker_store.retrieve(conversation)
        events = [event.as_dict() for event in tracker.events] if tracker else []
        slots = tracker.current_slot_values() if tracker else {}
        responses = [message.get("utter_action") for message in output.messages]
        decision: Decision = decide(turn_from_events(events, responses,
                                                     bool(slots.get("handoff_active"))))
        logger.info("mail %s: %s (%s)", mail.mail_id, decision.kind, decision.why)
        language = self._language(slots, mail)
        if decision.kind == "handoff":
            async with agent.lock_store.lock(conversation):
                return await self._hand_off(agent, mail, conversation, sender, "email_unclear",
                                            [])
        if mail.attachments and bool(slots.get("handoff_active")):
            await asyncio.to_thread(self._note_attachments, conversation, mail.attachments)
        if decision.kind in ("forwarded", "silent"):
            return decision.kind
        case_id = reply_case_id(slots)
        status = await self.send_reply(conversation, output.messages, language,
                                       from_assistant=True, case_id=case_id)
        actions = turn_from_events(events, responses, False).actions
        if not RECORDING_ACTIONS.intersection(actions):
            reply = "\n\n".join(reply_paragraphs(output.messages, language, case_id=case_id))
            await asyncio.to_thread(self._record, conversation, mail, reply,
                                    slot_int(slots.get("verified_customer")))
        return "replied" if status else "silent"

    @staticmethod
    def _language(slots: Mapping[str, Any], mail: MailPayload) -> str:
        value = slots.get("language")
        if value in LANGUAGES:
            return str(value)
        return mail.language or DEFAULT_LANGUAGE

    def _record(self, conversation: str, mail: MailPayload, reply: str,
                customer_id: int | None) -> None:
        from store import get_store
        from store.errors import StoreError

        try:
            crm = get_store()
            crm.record_interaction(conversation_id=conversation, channel=INPUT_CHANNEL,
                                   direction="in", customer_id=customer_id,
                                   text=clip(redact_emails(mail.agent_text or mail.subject), 5000))
            if reply:
                crm.record_interaction(conversation_id=conversation, channel=INPUT_CHANNEL,
                                       direction="out", customer_id=customer_id,
                                       text=clip(redact_emails(reply), 5000))
        except StoreError:
            logger.exception("the mail of conversation %s was not recorded as an interaction",
                             conversation)

    def _note_attachments(self, conversation: str, attachments: Sequence[str]) -> None:
        """Attachments of a mail forwarded during a handoff: noted in the case and the thread."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        from handoff.relay import HandoffSettings
        from store import get_store
        from store.errors import StoreError

        note = "\n".join(f"(attachment not opened: {name})" for name in attachments)
        try:
            crm = get_store()
            case = crm.find_open_handoff(conversation)
            crm.record_interaction(conversation_id=conversation, channel=INPUT_CHANNEL,
                                   direction="in", text=note,
                                   customer_id=case.customer_id if case else None)
        except StoreError:
            logger.exception("attachments of conversation %s not noted", conversation)
            return
        if case is None or not case.slack_thread_ts:
            return
        settings = HandoffSettings.from_env()
        try:
            settings.slack_client().chat_postMessage(
                channel=case.slack_channel or settings.channel, thread_ts=case.slack_thread_ts,
                text=note, unfurl_links=False)
        except (SlackApiError, SlackClientError, OSError):
            logger.exception("attachment note for case %s not posted to Slack", case.id)

    # --- handing a mail to a person -----------------------------------------------------------

    def _agent_text(self, mail: MailPayload, problems: Sequence[str]) -> str:
        lines = [f"Subject: {mail.subject}" if mail.subject else "(no subject)"]
        for code in problems:
            lines.append(f"[{PROBLEM_NOTES.get(code, code)}; stored as mail {mail.mail_id}]")
        body = mail.agent_text or mail.text
        if body:
            lines += ["", body]
        return "\n".join(lines)

    async def _hand_off(self, agent: Any, mail: MailPayload, conversation: str, sender: str,
                        reason: str, problems: Sequence[str]) -> str:
        """Case + Slack thread + tracker slots + one mail to the customer. The caller holds the
        conversation's lock."""
        from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet

        from handoff.relay import HandoffSettings, transcript_from_events
        from handoff.service import HandoffRequest, forward_customer_message, start_handoff

        tracker = await agent.processor.get_tracker(conversation)
        slots = tracker.current_slot_values()
        language = self._language(slots, mail)
        events = [event.as_dict() for event in tracker.events]
        settings = HandoffSettings.from_env()
        order = await asyncio.to_thread(
            order_context, slots.get("verified_order"), slot_int(slots.get("verified_customer")),
            f"{mail.subject}\n{mail.agent_text or mail.text}", sender)
        request = HandoffRequest(
            conversation_id=conversation, channel=INPUT_CHANNEL, reason=reason,
            language=language, transcript=tuple(transcript_from_events(events)),
            question=mail.text or mail.subject, order=order)
        outcome = await asyncio.to_thread(start_handoff, request, settings)
        new_events: list[Any] = []
        if slots.get("language") not in LANGUAGES:
            new_events.append(SlotSet("language", language))
        if outcome.kind == "unavailable":
            case_id = await asyncio.to_thread(self._open_mail_case, conversation, mail, reason,
                                              order, problems)
            response = "utter_handoff_unavailable"
            result = "case_opened"
        else:
            case_id = outcome.case_id
            if outcome.kind in ("started", "already_active"):
                delivered = await asyncio.to_thread(
                    forward_customer_message, conversation, INPUT_CHANNEL,
                    self._agent_text(mail, problems), settings, attachments=mail.attachments)
                if delivered != "delivered":
                    logger.warning("the mail of case %s did not reach its Slack thread (%s)",
                                   case_id, delivered)
            response = ("utter_handoff_started" if outcome.kind == "started"
                        else "utter_handoff_already_active")
            new_events += [ActiveLoop(None), SlotSet("requested_slot", None),
                           SlotSet("pending_question", None), SlotSet("handoff_active", True),
                           SlotSet("handoff_case_id", float(case_id))]
            result = "handed_off"
        # The chat response's name (what analytics and transcripts key on), in its mail version.
        text = mail_text(MAIL_VERSIONS[response], language, case_id=case_id)
        new_events.append(BotUttered(text, metadata={"utter_action": response,
                                                     "mail_version": MAIL_VERSIONS[response]}))
        tracker.update_with_events(new_events, agent.domain)
        await agent.tracker_store.save(tracker)
        await self.send_reply(conversation, [{"text": text, "utter_action": response}],
                              language, from_assistant=True, case_id=case_id)
        logger.info("mail %s handed to a person as case %s (%s, %s)", mail.mail_id, case_id,
                    reason, outcome.kind)
        return result

    def _open_mail_case(self, conversation: str, mail: MailPayload, reason: str, order: Any,
                        problems: Sequence[str]) -> int:
        """Slack cannot take the handoff: an open case, answered by e-mail, with the mail."""
        from handoff.service import reason_text
        from store import get_store

        crm = get_store()
        case = crm.open_case(
            subject=f"E-mail to answer by e-mail (Slack unavailable): {reason_text(reason)}",
            channel=INPUT_CHANNEL, customer_id=order.customer_id if order else None,
            order_number=order.number if order else None, conversation_id=conversation,
            status="open")
        text = self._agent_text(mail, problems)
        if mail.attachments:
            text += "\n" + "\n".join(f"(attachment not opened: {a})" for a in mail.attachments)
        crm.record_interaction(conversation_id=conversation, channel=INPUT_CHANNEL,
                               direction="in", text=clip(redact_emails(text), 5000),
                               customer_id=case.customer_id, order_number=case.order_number)
        return int(case.id)
