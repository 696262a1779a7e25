"""The /suggest modal (opened when /suggest came without a question)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.messages import QUESTION_ACTION, QUESTION_BLOCK, SUGGEST_MODAL_CALLBACK
from bot.services import get_services
from bot.suggest import clean_query, suggestion_reply

logger = logging.getLogger(__name__)


def _question(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(QUESTION_BLOCK) or {}).get(QUESTION_ACTION) or {}).get("value") or "")


def ack_modal(ack: Ack, view: dict[str, Any]) -> None:
    """Close the modal, or keep it open with an error when the question is empty."""
    if not clean_query(_question(view)):
        ack(response_action="errors",
            errors={QUESTION_BLOCK: "Please paste the customer's question."})
        return
    ack()


def suggest_from_modal(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
    """Suggestions for the modal's question, shown to the agent where /suggest was typed."""
    question = _question(view)
    if not clean_query(question):
        return
    user = str((body.get("user") or {}).get("id") or "")
    channel = str(view.get("private_metadata") or "")
    reply = suggestion_reply(get_services(), question, source="slack_modal")
    try:
        if channel:
            client.chat_postEphemeral(channel=channel, user=user, **reply)
            return
    except SlackApiError:
        logger.warning("chat.postEphemeral failed in %s; sending a direct message", channel)
    try:
        client.chat_postMessage(channel=user, **reply)
    except SlackApiError:
        logger.exception("could not deliver modal suggestions to the agent")


def register(app: App) -> None:
    app.view(SUGGEST_MODAL_CALLBACK)(ack=ack_modal, lazy=[suggest_from_modal])
