"""The message shortcut "Suggest a reply" (callback_id suggest_reply)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.suggestions import ReplyTarget
from bot.services import get_services
from bot.suggest import suggestion_reply

logger = logging.getLogger(__name__)

SUGGEST_SHORTCUT = "suggest_reply"


def ack_now(ack: Ack) -> None:
    ack()


def suggest_from_message(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """Suggestions for the message the shortcut was used on, shown to the agent in its thread."""
    message = body.get("message") or {}
    channel = str((body.get("channel") or {}).get("id") or "")
    user = str((body.get("user") or {}).get("id") or "")
    thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
    target = ReplyTarget(channel, thread_ts) if channel and thread_ts else None
    reply = suggestion_reply(get_services(), message.get("text"), source="slack_shortcut",
                             target=target)
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts or None,
                                  **reply)
    except SlackApiError:
        logger.warning("chat.postEphemeral failed in %s; answering through response_url",
                       channel)
        respond(response_type="ephemeral", **reply)


def register(app: App) -> None:
    app.shortcut(SUGGEST_SHORTCUT)(ack=ack_now, lazy=[suggest_from_message])
