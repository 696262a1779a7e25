"""Slash commands: /suggest <customer question> and /order <order number>."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.messages import suggest_modal
from bot.orders import REFUSAL, is_agent, order_reply
from bot.services import get_services
from bot.suggest import EMPTY_QUERY, clean_query, suggestion_reply

logger = logging.getLogger(__name__)


def ack_now(ack: Ack) -> None:
    ack()


def suggest_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """Suggestions for the question after /suggest; no question opens a modal asking for it."""
    text = body.get("text")
    if not clean_query(text):
        try:
            client.views_open(trigger_id=body.get("trigger_id") or "",
                              view=suggest_modal(str(body.get("channel_id") or "")))
        except SlackApiError:
            logger.exception("could not open the /suggest modal")
            respond(text=EMPTY_QUERY, response_type="ephemeral")
        return
    message = suggestion_reply(get_services(), text, source="slack_command")
    respond(response_type="ephemeral", replace_original=False, **message)


def order_command(body: dict[str, Any], respond: Respond, client: WebClient) -> None:
    """The order and customer card, for agents only."""
    services = get_services()
    user_id = str(body.get("user_id") or "")
    if not is_agent(client, services.settings, user_id, str(body.get("channel_id") or "")):
        logger.warning("refused /order for non-agent user %s", user_id)
        respond(text=REFUSAL, response_type="ephemeral")
        return
    respond(response_type="ephemeral", **order_reply(services, body.get("text")))


def register(app: App) -> None:
    app.command("/suggest")(ack=ack_now, lazy=[suggest_command])
    app.command("/order")(ack=ack_now, lazy=[order_command])
