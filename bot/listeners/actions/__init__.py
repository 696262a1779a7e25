"""Suggestion buttons: Helpful / Not helpful (votes for editors) and Post reply to thread."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.suggestions import (
    HELPFUL_ACTION,
    NOT_HELPFUL_ACTION,
    POST_REPLY_ACTION,
    parse_value,
    posted_draft_message,
)
from bot.listeners.handoff.relay import relay_agent_reply
from bot.services import get_services
from handoff.relay import HandoffSettings

logger = logging.getLogger(__name__)

MALFORMED = "That button's data is incomplete, so I could not act on it. Please ask again."
VOTE_FAILED = (":warning: The feedback database is unavailable, so your vote was not saved. "
               "The error has been logged for the team.")


def _reply(respond: Respond, text: str) -> None:
    respond(text=text, response_type="ephemeral", replace_original=False)


def vote(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
    """Record the agent's vote on a suggested article (agent, query, article, vote, time)."""
    ack()
    data = parse_value(action.get("value"))
    agent = str((body.get("user") or {}).get("id") or "")
    if not data.get("a") or not agent:
        _reply(respond, MALFORMED)
        return
    verdict = "helpful" if action.get("action_id") == HELPFUL_ACTION else "not_helpful"
    try:
        get_services().feedback().record_vote(agent, data.get("q", ""), data["a"], verdict,
                                              data.get("s") or "slack")
    except Exception:  # noqa: BLE001 (logged with traceback; the agent gets a plain message)
        logger.exception("could not record a vote on article %s", data["a"])
        _reply(respond, VOTE_FAILED)
        return
    word = "helpful" if verdict == "helpful" else "not helpful"
    _reply(respond, f"Thanks, I noted that this article was {word}.")


def post_reply(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond,
               client: WebClient) -> None:
    """Post the chosen draft as a reply in the thread the suggestion was made for."""
    ack()
    data = parse_value(action.get("value"))
    agent = str((body.get("user") or {}).get("id") or "")
    if not (data.get("c") and data.get("t") and data.get("d") and agent):
        _reply(respond, MALFORMED)
        return
    try:
        posted = client.chat_postMessage(channel=data["c"], thread_ts=data["t"],
                                         **posted_draft_message(data["d"], agent))
    except SlackApiError:
        logger.exception("could not post a reply draft to %s", data["c"])
        _reply(respond, "I could not post to that thread. Is the app a member of the channel?")
        return
    if relay_to_customer(data["c"], data["t"], str(posted.get("ts") or ""), agent, data["d"]):
        _reply(respond, "Posted the reply to the thread and sent it to the customer's chat.")
        return
    _reply(respond, "Posted the reply to the thread.")


def relay_to_customer(channel: str, thread_ts: str, ts: str, agent: str, draft: str) -> bool:
    """In a live handoff thread, the posted draft also goes to the customer (the relay ignores
    the app's own messages, so hand it over as the agent's reply)."""
    handoff = HandoffSettings.from_env()
    if not handoff.channel or channel != handoff.channel:
        return False
    event = {"type": "message", "channel": channel, "thread_ts": thread_ts, "ts": ts,
             "user": agent, "text": draft}
    return relay_agent_reply(event, handoff)


def register(app: App) -> None:
    app.action(HELPFUL_ACTION)(vote)
    app.action(NOT_HELPFUL_ACTION)(vote)
    app.action(POST_REPLY_ACTION)(post_reply)
