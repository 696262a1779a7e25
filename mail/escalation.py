"""Handing a mail to a person: the e-mail channel's part of the one handoff path.

    outcome = hand_over_mail(MailHandoff(...), slots, events, HandoffSettings.from_env())
    turn = handoff_turn(outcome, language, slots)  # what the tracker and the customer get

Like every channel, mail supplies only how to reach the customer; the handoff package
(handoff.service.hand_over) opens or reuses the case, posts the Slack thread with the transcript,
the verified order and suggestions, forwards the whole mail with its attachments (noted, never
opened) into it, and, when Slack cannot take it, leaves a case open to be answered by e-mail.
Agent replies come back through Rasa's trigger_intent to the channel's output (mail/channel.py).
Nothing here logs an address or the mail's text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rasa.shared.core.events import ActiveLoop, BotUttered, Event, SlotSet

from handoff.relay import HandoffSettings, transcript_from_events
from handoff.service import CustomerMessage, HandoffOutcome, HandoffRequest, hand_over
from mail.compose import MAIL_VERSIONS, mail_text
from mail.output import slot_int
from mail.payload import INPUT_CHANNEL, MailPayload
from nordvik.languages import LANGUAGES
from nordvik.orders import find_order_numbers
from store import get_store

FOLLOW_UP = "E-mail to answer by e-mail"  # the case's subject when Slack cannot take the mail
PROBLEM_NOTES = {
    "oversized": "the mail is too large to be read automatically",
    "charset": "the mail's text could not be decoded reliably",
    "malformed": "the mail's headers or structure are malformed",
    "retry": "an earlier attempt to process this mail failed",
}


@dataclass(frozen=True)
class MailHandoff:
    """One mail going to a person."""

    mail: MailPayload
    conversation_id: str
    sender: str  # the unsealed address: an order number in the mail must be the sender's
    reason: str  # a handoff.service.REASONS code (email_unclear, email_complaint)
    language: str
    problems: tuple[str, ...] = ()  # why the mail was not read automatically (PROBLEM_NOTES)


@dataclass(frozen=True)
class HandoffTurn:
    """What the conversation gets: the tracker's events and the mail to the customer."""

    result: str  # handed_off | case_opened (the inbound webhook's outcome)
    response: str  # the chat response's name, e.g. utter_handoff_started
    text: str  # its mail version in the conversation's language
    events: tuple[Event, ...]


def agent_text(mail: MailPayload, problems: Sequence[str]) -> str:
    """The mail as the agent reads it: subject, why it was not read automatically, its text."""
    lines = [f"Subject: {mail.subject}" if mail.subject else "(no subject)"]
    for code in problems:
        lines.append(f"[{PROBLEM_NOTES.get(code, code)}; stored as mail {mail.mail_id}]")
    body = mail.agent_text or mail.text
    if body:
        lines += ["", body]
    return "\n".join(lines)


def order_context(verified_order: str | None, verified_customer: int | None, text: str,
                  sender: str) -> Any:
    """The order the agent sees: the conversation's verified order, else an order number in the
    mail that belongs to the sender. For the agent only; nothing is said to the customer."""
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


def hand_over_mail(handoff: MailHandoff, slots: Mapping[str, Any],
                   events: Sequence[Mapping[str, Any]],
                   settings: HandoffSettings) -> HandoffOutcome:
    """The mail's handoff through handoff.service.hand_over (blocking; StoreError propagates)."""
    mail = handoff.mail
    order = order_context(slots.get("verified_order"), slot_int(slots.get("verified_customer")),
                          f"{mail.subject}\n{mail.agent_text or mail.text}", handoff.sender)
    request = HandoffRequest(
        conversation_id=handoff.conversation_id, channel=INPUT_CHANNEL, reason=handoff.reason,
        language=handoff.language, transcript=tuple(transcript_from_events(events)),
        question=mail.text or mail.subject, order=order)
    message = CustomerMessage(agent_text(mail, handoff.problems), FOLLOW_UP, mail.attachments)
    return hand_over(request, settings, message)


def handoff_turn(outcome: HandoffOutcome, language: str, slots: Mapping[str, Any]) -> HandoffTurn:
    """The slots a handoff sets (as the chat's handoff action does) and the mail saying so."""
    events: list[Event] = []
    if slots.get("language") not in LANGUAGES:
        events.append(SlotSet("language", language))
    if outcome.kind == "unavailable":
        response, result = "utter_handoff_unavailable", "case_opened"
    else:
        response = ("utter_handoff_started" if outcome.kind == "started"
                    else "utter_handoff_already_active")
        result = "handed_off"
        events += [ActiveLoop(None), SlotSet("requested_slot", None),
                   SlotSet("pending_question", None), SlotSet("handoff_active", True),
                   SlotSet("handoff_case_id", float(outcome.case_id))]
    # The chat response's name (what analytics and transcripts key on), in its mail version.
    text = mail_text(MAIL_VERSIONS[response], language, case_id=outcome.case_id)
    events.append(BotUttered(text, metadata={"utter_action": response,
                                             "mail_version": MAIL_VERSIONS[response]}))
    return HandoffTurn(result, response, text, tuple(events))
