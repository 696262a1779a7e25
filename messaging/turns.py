"""One messaging conversation inside the Rasa server: the customer's message, the bot's turn, and
every reply sent back, whatever the platform.

    conversations = Conversations(platform, contacts)
    await conversations.handle(agent, inbound, on_new_message)   # a webhook's message
    await conversations.deliver_later(agent, conversation_id, messages)  # trigger_intent turns

- Text (and quick-reply or postback payloads, and the number of a numbered choice) goes through
  the same NLU, rules and actions as the widget, with metadata `client` (a keyed hash of the
  platform's user id: the guessing limits across conversations) and the platform's own extras
  (WhatsApp: the sender's number). Over the conversation's message limit (RATE_SESSION_*, as on
  the widget) the customer gets the polite "please wait" and the message goes no further. The
  replies are shaped for the platform (messaging/formatting.py) and sent at once (LINE: with the
  event's reply token).
- A message that is not text gets the polite catalogue reply in the conversation's language and
  is recorded in the CRM; during a handoff it is noted in the Slack thread.
- Turns Rasa runs on its own (an agent's reply from Slack, the end of a handoff) are sent once
  the turn is over, if the platform's reply window is still open (WhatsApp 24 h, Messenger's
  standard window); LINE pushes when the reply token is spent or stale. An agent's reply that
  cannot be delivered is explained to the agent in the Slack thread. When the window had closed
  and the conversation has a verified customer, the reply is kept (handoff/undelivered.py) and
  the note carries a "Send it by e-mail" button: the Slack app then has the e-mail channel mail
  it to the customer's address on file, in the conversation's language.
- Every customer message and bot reply is an interaction in the CRM on the platform's channel
  (the order and handoff actions record their own turns; the channel records the others).

Nothing here logs a user id, a phone number, an address or a message's text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from handoff.relay import HandoffSettings
from handoff.service import forward_customer_message, note_in_thread
from handoff.undelivered import kept_replies, note_blocks
from message_catalogue.messages import get_catalogue
from messaging.contacts import Contact, ContactStore, conversation_id_for
from messaging.formatting import (
    Outgoing,
    choice_for,
    is_agent_message,
    pending_choices,
    shape,
    split_text,
)
from messaging.platform import Delivery, Inbound, Platform
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES
from nordvik.secrets import pseudonym
from nordvik.text import clip, redact_emails
from rasa_addons.messages import slow_down
from rasa_addons.ratelimit import Limit, RateLimiter
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[Any], Awaitable[Any]]
# Actions that record the customer's message and the answer in the CRM themselves.
RECORDING_ACTIONS = frozenset({"action_check_order_status", "action_prepare_cancel",
                               "action_cancel_order", "action_start_return",
                               "action_forward_to_agent"})
NOT_TEXT = "utter_messaging_not_text"
NOT_TEXT_HANDOFF = "utter_messaging_not_text_handoff"


def client_key(platform: str, user_id: str) -> str:
    return pseudonym(f"{platform}:{user_id}", purpose="client")


def _int(value: Any) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _language(slots: Mapping[str, Any]) -> str:
    value = slots.get("language")
    return str(value) if value in LANGUAGES else DEFAULT_LANGUAGE


def _record(conversation: str, channel: str, direction: str, text: str,
            customer_id: int | None) -> None:
    if not text.strip():
        return
    try:
        get_store().record_interaction(conversation_id=conversation, channel=channel,
                                       direction=direction, customer_id=customer_id,
                                       text=clip(redact_emails(text), 5000))
    except StoreError:
        logger.exception("a message of conversation %s was not recorded", conversation)


def undelivered_note(label: str, why: str, slots: Mapping[str, Any], *,
                     button: bool = False) -> str:
    """What the agent reads in the thread when their reply could not reach the customer
    (`button`: the note carries "Send it by e-mail")."""
    customer = _int(slots.get("verified_customer"))
    order = slots.get("verified_order")
    verified = (f"The customer is verified in this conversation (customer #{customer}"
                f"{f', order {order}' if order else ''})")
    if customer is not None and button:
        way_out = (f"{verified}: *Send it by e-mail* mails this reply to their address on file, "
                   f"in {LANGUAGE_NAMES[_language(slots)]}.")
    elif customer is not None:
        way_out = (f"{verified}, so their e-mail address is on file: send the reply by e-mail "
                   f"instead{f' (`/order {order}` shows the address)' if order else ''}, or end "
                   "the handoff with \"follow up by e-mail\".")
    else:
        way_out = ("No e-mail address is verified in this conversation: the reply reaches the "
                   "customer only if they write again.")
    return f":warning: Not delivered on {label}: {why}. {way_out}"


class Conversations:
    """The shared conversation logic of one platform's channel (one per Rasa server)."""

    def __init__(self, platform: Platform, contacts: ContactStore,
                 limit: Limit | None = None, limiter: RateLimiter | None = None) -> None:
        self.platform = platform
        self.contacts = contacts
        self.limit = limit  # per conversation (RATE_SESSION_*), as on the widget
        self.limiter = limiter

    async def over_limit(self, agent: Any, contact: Contact) -> bool:
        """Over the conversation's message limit: the polite "please wait", no bot turn."""
        if self.limit is None or self.limiter is None:
            return False
        limit = Limit("session", contact.conversation_id, self.limit.max_hits,
                      self.limit.window_seconds)
        decision = await self.limiter.hit([limit])
        if decision.allowed:
            return False
        slots, _ = await self._slots(agent, contact.conversation_id)
        logger.info("%s message refused in conversation %s: %s limit reached",
                    self.platform.name, contact.conversation_id, decision.scope)
        await self.send(contact, [Outgoing(slow_down(_language(slots)))])
        return True

    async def _slots(self, agent: Any, conversation: str) -> tuple[dict[str, Any], list[str]]:
        """The conversation's slots, and the actions of its latest turn."""
        tracker = await agent.tracker_store.retrieve(conversation) if agent else None
        if tracker is None:
            return {}, []
        actions: list[str] = []
        for event in reversed(list(tracker.events)):
            data = event.as_dict()
            if data.get("event") == "user":
                break
            if data.get("event") == "action" and data.get("name"):
                actions.append(str(data["name"]))
        return dict(tracker.current_slot_values()), actions

    # --- a webhook's message ------------------------------------------------------------------

    async def handle(self, agent: Any, item: Inbound, on_new_message: OnNewMessage) -> None:
        name = self.platform.name
        if item.message_id and not await asyncio.to_thread(
                self.contacts.first_time, conversation_id_for(name, item.user_id), name,
                item.message_id):
            logger.info("%s: a redelivered message was not answered again", name)
            return
        conversation = await asyncio.to_thread(self.contacts.inbound, name, item.user_id,
                                               reply_token=item.reply_token)
        contact = await asyncio.to_thread(self.contacts.get, conversation)
        if contact is None or await self.over_limit(agent, contact):
            return
        if item.kind is not None:
            await self.not_text(agent, contact, item)
            return
        text = (item.text or "").replace("\x00", "")[:5000]
        picked = choice_for(text, contact.choices) if contact.choices else None
        if contact.choices:
            await asyncio.to_thread(self.contacts.set_choices, conversation, ())
        metadata = {"client": client_key(name, item.user_id), **item.metadata}
        collector = CollectingOutputChannel()
        await on_new_message(UserMessage(picked or text, collector, conversation,
                                         input_channel=name, metadata=metadata))
        slots, actions = await self._slots(agent, conversation)
        outgoing = shape(collector.messages, self.platform.limits, _language(slots))
        delivery = await self.send(contact, outgoing)
        if delivery.error:
            logger.warning("reply in conversation %s not delivered: %s", conversation,
                           delivery.error)
        if not RECORDING_ACTIONS.intersection(actions):
            customer = _int(slots.get("verified_customer"))
            await asyncio.to_thread(_record, conversation, name, "in", text, customer)
            reply = "\n\n".join(o.text for o in outgoing)
            await asyncio.to_thread(_record, conversation, name, "out", reply, customer)

    async def send(self, contact: Contact, outgoing: Sequence[Outgoing]) -> Delivery:
        """Send now (the window is the caller's concern); LINE uses a fresh reply token."""
        if not outgoing:
            return Delivery(0)
        token = None
        if self.platform.name == "line":
            token = await asyncio.to_thread(
                self.contacts.take_reply_token, contact.conversation_id,
                self.platform.settings.line_reply_token_seconds)
        delivery = await asyncio.to_thread(self.platform.send, contact, outgoing,
                                           reply_token=token)
        choices = pending_choices(outgoing)
        if choices:
            await asyncio.to_thread(self.contacts.set_choices, contact.conversation_id, choices)
        how = "" if self.platform.name != "line" else " (reply)" if token else " (push)"
        logger.info("%s: %d of %d messages sent in conversation %s%s", self.platform.name,
                    delivery.sent, len(outgoing), contact.conversation_id, how)
        return delivery

    async def not_text(self, agent: Any, contact: Contact, item: Inbound) -> None:
        """A sticker, image, voice note, location...: recorded, noted for an agent during a
        handoff, and answered politely in the conversation's language."""
        conversation, name = contact.conversation_id, self.platform.name
        slots, _ = await self._slots(agent, conversation)
        language = _language(slots)
        note = f"[{item.kind} sent on {self.platform.label}"
        note += f": {item.details}]" if item.details else "]"
        try:
            forwarded = await asyncio.to_thread(forward_customer_message, conversation, name,
                                                note, HandoffSettings.from_env())
        except StoreError:
            logger.exception("non-text message of conversation %s not forwarded", conversation)
            forwarded = "closed"
        customer = _int(slots.get("verified_customer"))
        if forwarded == "closed":  # no handoff: the channel records it
            await asyncio.to_thread(_record, conversation, name, "in", note, customer)
        response = NOT_TEXT if forwarded == "closed" else NOT_TEXT_HANDOFF
        text = get_catalogue().text(response, language)
        outgoing = [Outgoing(piece) for piece in split_text(text, self.platform.limits.text_chars)]
        await self.send(contact, outgoing)
        await asyncio.to_thread(_record, conversation, name, "out", text, customer)
        logger.info("%s: a %s message answered in conversation %s (%s)", name, item.kind,
                    conversation, language)

    # --- turns Rasa runs on its own (trigger_intent) ------------------------------------------

    def window_closed_why(self, contact: Contact, now: float | None = None) -> str | None:
        hours = self.platform.settings.window_hours(self.platform.name)
        if hours is None:
            return None
        last = contact.last_inbound
        elapsed = (now or time.time()) - last if last is not None else None
        if elapsed is not None and elapsed <= hours * 3600:
            return None
        ago = f"{elapsed / 3600:.0f} hours ago" if elapsed is not None else "not known"
        return (f"the customer's last message was {ago}, and {self.platform.label} allows "
                f"replies only within {hours} hours of it")

    async def deliver_later(self, agent: Any, conversation: str,
                            messages: Sequence[Mapping[str, Any]]) -> Delivery:
        contact = await asyncio.to_thread(self.contacts.get, conversation)
        if contact is None:
            logger.warning("no %s contact for conversation %s; reply not sent",
                           self.platform.name, conversation)
            return Delivery(0, "unknown conversation")
        slots, _ = await self._slots(agent, conversation)
        outgoing = shape(messages, self.platform.limits, _language(slots))
        why = self.window_closed_why(contact)
        if why is None:
            delivery = await self.send(contact, outgoing)
            why = delivery.error if not delivery.window_closed else (
                f"{self.platform.label} refused it because its reply window has closed "
                f"({delivery.error})")
        else:
            delivery = Delivery(0, why, window_closed=True)
        if delivery.error is None:
            return delivery
        logger.warning("%s: reply in conversation %s not delivered (%s)", self.platform.name,
                       conversation, "window closed" if delivery.window_closed else "error")
        if any(o.from_agent for o in outgoing) and why:
            await self.tell_agent(conversation, why, slots, agent_text(messages),
                                  window_closed=delivery.window_closed)
        return delivery

    async def tell_agent(self, conversation: str, why: str, slots: Mapping[str, Any],
                         text: str, *, window_closed: bool) -> None:
        """The note in the handoff thread; with the e-mail button when the window had closed
        and the customer is verified (the reply is kept for it)."""
        customer = _int(slots.get("verified_customer"))
        reply_id = None
        if window_closed and customer is not None and text:
            try:
                reply_id = await asyncio.to_thread(
                    kept_replies().keep, conversation_id=conversation,
                    platform=self.platform.name, customer_id=customer,
                    language=_language(slots), text=text,
                    case_id=_int(slots.get("handoff_case_id")),
                    order_number=str(slots.get("verified_order") or "") or None)
            except StoreError:
                logger.exception("the undelivered reply of conversation %s was not kept",
                                 conversation)
        note = undelivered_note(self.platform.label, why, slots, button=reply_id is not None)
        blocks = note_blocks(note, reply_id) if reply_id is not None else None
        try:
            await asyncio.to_thread(note_in_thread, conversation, note,
                                    HandoffSettings.from_env(), blocks)
        except StoreError:
            logger.exception("the agent of conversation %s was not told", conversation)


def agent_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """An agent's words in a turn's messages (the bot's catalogue responses left out)."""
    return "\n\n".join(str(m.get("text") or "").strip() for m in messages
                        if is_agent_message(m) and str(m.get("text") or "").strip())
