"""Events: an @mention in a thread suggests a reply to the thread's customer question."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.messages import notice
from bot.blocks.suggestions import ReplyTarget
from bot.services import get_services
from bot.suggest import clean_query, suggestion_reply

logger = logging.getLogger(__name__)

NO_QUESTION = ("Mention me in a thread under the customer's question (or write the question "
               "after the mention) and I will suggest a reply.")


def thread_question(client: WebClient, channel: str, thread_ts: str) -> str:
    """The text of the thread's first message, the customer's question ("" if unreadable)."""
    try:
        replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=1)
    except SlackApiError:
        logger.exception("could not read thread %s in %s", thread_ts, channel)
        return ""
    messages = replies.get("messages") or []
    return str(messages[0].get("text") or "") if messages else ""


def mention_suggest(event: dict[str, Any], client: WebClient) -> None:
    channel = str(event.get("channel") or "")
    user = str(event.get("user") or "")
    ts = str(event.get("ts") or "")
    thread_ts = str(event.get("thread_ts") or "")
    question = ""
    if thread_ts and thread_ts != ts:
        question = clean_query(thread_question(client, channel, thread_ts))
    if not question:
        question = clean_query(event.get("text"))
    target_ts = thread_ts or ts
    if not question:
        reply = notice(NO_QUESTION)
    else:
        reply = suggestion_reply(get_services(), question, source="slack_mention",
                                 target=ReplyTarget(channel, target_ts))
    try:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=target_ts, **reply)
    except SlackApiError:
        logger.exception("could not answer a mention in %s", channel)


def ignore_message(event: dict[str, Any]) -> None:
    """Other channel messages need no answer (handoff replies are matched before this)."""
    return None


def register(app: App) -> None:
    app.event("app_mention")(mention_suggest)


def register_catch_all(app: App) -> None:
    """Register last: takes every message event no other listener wanted."""
    app.event("message")(ignore_message)
