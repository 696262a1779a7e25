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
4. Handing to a person goes the one handoff path of every channel (mail/escalation.py ->
   handoff.service.hand_over): case + Slack thread with the transcript, the verified order and
   suggestions, the whole mail and its attachments (noted, never opened) posted into the thread;
   without Slack a case stays open to be answered by e-mail. Then the handoff slots are set in
   the tracker, and one mail tells the customer a colleague will answer.

Nothing here logs an address or the mail's text.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

from rasa.core.channels.channel import UserMessage

from handoff.relay import HandoffSettings
from handoff.service import note_attachments
from mail.compose import ReplyParts, compose_reply, reply_paragraphs
from mail.decide import Decision, decide, turn_from_events
from mail.escalation import MailHandoff, hand_over_mail, handoff_turn
from mail.output import MailOutput, reply_case_id, slot_int
from mail.payload import INPUT_CHANNEL, InvalidPayload, MailPayload, reply_language
from mail.settings import MailSettings
from mail.smtp import send_or_queue
from mail.threads import Placement, ThreadStore
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES
from nordvik.secrets import unseal
from nordvik.text import clip, redact_emails
from store import get_store
from store.errors import StoreError
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

EMAIL_PURPOSE = "email"
COMPLAINT_SUBJECT = re.compile(
    r"\b(complaint|complain|reklamation|reklamasjon|klage|klagomål|klagemål)\b|投訴|投诉|客訴|申訴",
    re.IGNORECASE)
# Actions that record the customer's message and the answer in the CRM themselves.
RECORDING_ACTIONS = frozenset({"action_check_order_status", "action_prepare_cancel",
                               "action_cancel_order", "action_start_return",
                               "action_forward_to_agent"})

OnNewMessage = Callable[[Any], Awaitable[Any]]


class MailConversations:
    """The e-mail channel's logic inside the Rasa server (one per process)."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    @cached_property
    def threads(self) -> ThreadStore:
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
        language = reply_language(slots, mail)
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

    def _record(self, conversation: str, mail: MailPayload, reply: str,
                customer_id: int | None) -> None:
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

    @staticmethod
    def _note_attachments(conversation: str, attachments: Sequence[str]) -> None:
        """Attachments of a mail forwarded during a handoff: noted in the case and the thread."""
        try:
            note_attachments(conversation, INPUT_CHANNEL, attachments, HandoffSettings.from_env())
        except StoreError:
            logger.exception("attachments of conversation %s not noted", conversation)

    # --- handing a mail to a person -----------------------------------------------------------

    async def _hand_off(self, agent: Any, mail: MailPayload, conversation: str, sender: str,
                        reason: str, problems: Sequence[str]) -> str:
        """Case + Slack thread (mail/escalation.py) + tracker slots + one mail to the customer.
        The caller holds the conversation's lock."""
        tracker = await agent.processor.get_tracker(conversation)
        slots = tracker.current_slot_values()
        language = reply_language(slots, mail)
        events = [event.as_dict() for event in tracker.events]
        handoff = MailHandoff(mail, conversation, sender, reason, language, tuple(problems))
        outcome = await asyncio.to_thread(hand_over_mail, handoff, slots, events,
                                          HandoffSettings.from_env())
        turn = handoff_turn(outcome, language, slots)
        tracker.update_with_events(list(turn.events), agent.domain)
        await agent.tracker_store.save(tracker)
        await self.send_reply(conversation, [{"text": turn.text, "utter_action": turn.response}],
                              language, from_assistant=True, case_id=outcome.case_id)
        logger.info("mail %s handed to a person as case %s (%s, %s)", mail.mail_id,
                    outcome.case_id, reason, outcome.kind)
        return turn.result
