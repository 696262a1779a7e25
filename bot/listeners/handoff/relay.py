"""Listener callbacks for the handoff: plain functions over Slack payloads, the CRM and Rasa."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.listeners.handoff.buttons import button_press
from bot.listeners.handoff.ordering import ThreadOrder, thread_order
from handoff.relay import (
    AGENT_MESSAGE_ENTITY,
    AGENT_MESSAGE_INTENT,
    HANDOFF_CLOSED_INTENT,
    RESOLVE_ACTION_ID,
    HandoffSettings,
    RasaConversations,
    RelayError,
    closed_blocks,
)
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

RESOLUTIONS = {
    RESOLVE_ACTION_ID: "resolved in chat",
    "handoff_unresolved": "not resolved in chat; follow up by e-mail",
}


def is_agent_reply_in_handoff_thread(event: Mapping[str, Any], settings: HandoffSettings) -> bool:
    """A person's reply (not a bot's, not an edit) inside a thread of the handoff channel."""
    return (
        event.get("type") == "message"
        and event.get("channel") == settings.channel
        and bool(event.get("thread_ts"))
        and event.get("thread_ts") != event.get("ts")
        and event.get("subtype") is None
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(str(event.get("text") or "").strip())
    )


def relay_agent_reply(event: Mapping[str, Any], settings: HandoffSettings,
                      rasa: RasaConversations | None = None,
                      order: ThreadOrder | None = None) -> bool:
    """Send the agent's thread reply to the customer's chat. True when it was delivered.

    Replies in one thread go one after the other, across the app's processes too (`ordering`)."""
    with (order or thread_order()).hold(str(event.get("channel")), str(event.get("thread_ts"))):
        return _relay_agent_reply(event, settings, rasa)


def _relay_agent_reply(event: Mapping[str, Any], settings: HandoffSettings,
                       rasa: RasaConversations | None) -> bool:
    try:
        store = get_store()
        case = store.find_case_by_thread(str(event.get("channel")), str(event.get("thread_ts")))
    except StoreError:
        logger.exception("agent reply not relayed: the CRM store is unavailable")
        say_in_thread(settings, str(event.get("channel")), str(event.get("thread_ts")),
                       ":warning: That reply did not reach the customer: the order/CRM store is "
                       "unavailable. Please send it again in a minute.")
        return False
    if case is None or case.status != "handoff" or not case.conversation_id:
        logger.info("thread reply outside an open handoff ignored")
        return False
    text = str(event.get("text") or "").strip()
    try:
        (rasa or RasaConversations(settings)).trigger(
            case.conversation_id, AGENT_MESSAGE_INTENT, {AGENT_MESSAGE_ENTITY: text}
        )
    except RelayError:
        logger.exception("agent reply for case %s not delivered", case.id)
        say_in_thread(settings, str(event.get("channel")), str(event.get("thread_ts")),
                       ":warning: That reply did not reach the customer: the chat server is "
                       "unavailable. Please send it again in a minute.")
        return False
    try:
        store.record_interaction(conversation_id=case.conversation_id, channel=case.channel,
                                 direction="out", text=text, customer_id=case.customer_id,
                                 order_number=case.order_number)
    except StoreError:
        logger.exception("agent reply of case %s delivered but not recorded", case.id)
    return True


def end_handoff_button(ack: Callable[..., Any], body: Mapping[str, Any],
                       settings: HandoffSettings, rasa: RasaConversations | None = None) -> bool:
    """The agent pressed an end button: close the case, hand the chat back to the bot."""
    ack()
    press = button_press(body)
    if press is None:
        logger.warning("end-handoff button with a malformed case id")
        return False
    action, case_id, agent = press.action, press.id, press.agent
    channel = str((body.get("channel") or {}).get("id") or settings.channel)
    message = body.get("message") or {}
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
    try:
        return _end_handoff(settings, rasa, case_id, agent, action, channel, thread_ts, message)
    except StoreError:
        logger.exception("handoff of case %s not ended: the CRM store is unavailable", case_id)
        say_in_thread(settings, channel, thread_ts,
                       ":warning: The handoff could not be ended: the order/CRM store is "
                       "unavailable. Please press the button again in a minute.")
        return False


def _end_handoff(settings: HandoffSettings, rasa: RasaConversations | None, case_id: int,
                 agent: str, action: Mapping[str, Any], channel: str, thread_ts: str,
                 message: Mapping[str, Any]) -> bool:
    store = get_store()
    case = store.get_case(case_id)
    if case is None or not case.conversation_id:
        say_in_thread(settings, channel, thread_ts, "That case no longer exists.")
        return False
    already_closed = case.status != "handoff"
    resolution = f"{RESOLUTIONS.get(str(action.get('action_id')), 'closed')} (agent {agent})"
    if not already_closed:
        store.close_case(case_id, resolution)
    try:
        if not already_closed:
            (rasa or RasaConversations(settings)).trigger(case.conversation_id,
                                                           HANDOFF_CLOSED_INTENT)
    except RelayError:
        # The case is closed in the CRM: the bot hands over at the customer's next message.
        logger.exception("handoff end for case %s not delivered to the chat", case_id)
    kept = [block for block in message.get("blocks") or [] if block.get("type") != "actions"]
    _update_root(settings, channel, thread_ts, case_id,
                 kept + closed_blocks(case_id, resolution, agent))
    return True


def _update_root(settings: HandoffSettings, channel: str, ts: str, case_id: int,
                 blocks: list[dict[str, Any]]) -> None:
    if not ts:
        return
    try:
        settings.slack_client().chat_update(
            channel=channel, ts=ts, text=f"Handoff ended: case #{case_id}",
            blocks=blocks,
        )
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("could not update the handoff post of case %s", case_id)


def say_in_thread(settings: HandoffSettings, channel: str, thread_ts: str, text: str) -> None:
    try:
        settings.slack_client().chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("could not post a handoff notice to Slack")
