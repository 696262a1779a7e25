"""Slack's AI assistant panel (Bolt's Assistant middleware): paste a question, get suggestions.

A follow-up in the same assistant thread refines the query: it is searched together with the
agent's previous message in the thread.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, Assistant, Say, SetStatus, SetSuggestedPrompts
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.services import get_services
from bot.suggest import combine_queries, suggestion_reply

logger = logging.getLogger(__name__)

GREETING = ("Hi! Paste the customer's question and I will suggest replies from the knowledge "
            "base. Add a follow-up in this thread to narrow the search.")
PROMPTS = [
    {"title": "Delivery time to Norway", "message": "How long does delivery to Norway take?"},
    {"title": "Return window", "message": "How many days does the customer have to return?"},
    {"title": "Refund authority", "message": "How much goodwill refund may an agent give?"},
]


def start_thread(say: Say, set_suggested_prompts: SetSuggestedPrompts) -> None:
    say(GREETING)
    set_suggested_prompts(prompts=PROMPTS)


def previous_question(client: WebClient, channel: str, thread_ts: str, current_ts: str) -> str:
    """The agent's last message in the thread before this one ("" when there is none)."""
    try:
        replies = client.conversations_replies(channel=channel, ts=thread_ts, limit=50)
    except SlackApiError:
        logger.exception("could not read assistant thread history")
        return ""
    earlier = [m for m in replies.get("messages") or []
               if not m.get("bot_id") and m.get("ts") != current_ts and m.get("text")
               and float(m.get("ts") or 0) < float(current_ts or "inf")]
    return str(earlier[-1]["text"]) if earlier else ""


def answer_message(payload: dict[str, Any], client: WebClient, say: Say,
                   set_status: SetStatus) -> None:
    channel = str(payload.get("channel") or "")
    thread_ts = str(payload.get("thread_ts") or "")
    ts = str(payload.get("ts") or "")
    set_status("is searching the knowledge base...")
    query = combine_queries(previous_question(client, channel, thread_ts, ts),
                            str(payload.get("text") or ""))
    say(**suggestion_reply(get_services(), query, source="slack_assistant"))


def build_assistant() -> Assistant:
    assistant = Assistant()
    assistant.thread_started(start_thread)
    assistant.user_message(answer_message)
    return assistant


def register(app: App) -> None:
    app.assistant(build_assistant())
