"""The phone callback card's outcome buttons (handoff/callbacks.py): log the call's outcome."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.listeners.handoff.buttons import button_press
from handoff.callbacks import log_callback_outcome, logged_blocks
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)


def callback_outcome_button(ack: Callable[..., Any], body: Mapping[str, Any],
                            client: WebClient, store: Any = None) -> str | None:
    """An agent logged how the callback went: record it, and show it on the card."""
    ack()
    press = button_press(body)
    if press is None:
        logger.warning("callback outcome button with a malformed case id")
        return None
    action, value, agent = press.action, press.id, press.agent
    try:
        if store is None:
            store = get_store()
        outcome = log_callback_outcome(store, value, str(action.get("action_id")), agent)
    except StoreError:
        logger.exception("callback outcome of case %s not logged: the CRM store is unavailable",
                         value)
        return None
    if outcome is None:
        return None
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    try:
        client.chat_update(channel=channel, ts=str(message.get("ts") or ""),
                           text=f"Callback (case #{value}): {outcome}",
                           blocks=logged_blocks(list(message.get("blocks") or []), outcome,
                                                agent))
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("callback card of case %s not updated", value)
    return outcome
