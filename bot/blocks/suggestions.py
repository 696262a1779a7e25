"""Suggested replies as Block Kit: title, reply draft, link, language, stale warning, buttons."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kb_index.types import Hit
from nordvik.text import clip, escape_mrkdwn

HELPFUL_ACTION = "suggestion_helpful"
NOT_HELPFUL_ACTION = "suggestion_not_helpful"
POST_REPLY_ACTION = "suggestion_post_reply"
VALUE_LIMIT = 2000  # Slack's limit for a button value
LANGUAGE_NAMES = {"en": "English", "sv": "Swedish", "nb": "Norwegian (bokmål)",
                  "zh": "Chinese (Traditional)"}


@dataclass(frozen=True)
class ReplyTarget:
    """The thread a draft is posted to with "Post reply to thread"."""

    channel: str
    thread_ts: str


def _value(payload: dict[str, str], shrink: str) -> str:
    """Compact JSON under Slack's limit, shortening the field `shrink` as needed."""
    value = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    while len(value) > VALUE_LIMIT and payload[shrink]:
        payload[shrink] = clip(payload[shrink], len(payload[shrink]) - (len(value) - VALUE_LIMIT)
                               - 10)
        value = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return value


def vote_value(query: str, article_id: str, source: str) -> str:
    return _value({"a": article_id, "q": clip(query, 500), "s": source}, "q")


def post_value(target: ReplyTarget, article_id: str, draft: str) -> str:
    return _value({"a": article_id, "c": target.channel, "t": target.thread_ts,
                   "d": clip(draft, 1700)}, "d")


def parse_value(value: object) -> dict[str, str]:
    """A button value back as a dict; {} for anything malformed."""
    if not isinstance(value, str):
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code or "unknown")


def suggestion_blocks(index: int, hit: Hit, query: str, source: str,
                      target: ReplyTarget | None) -> list[dict[str, Any]]:
    meta = f"{language_name(hit.language)} · {hit.audience} · score {hit.score:.2f}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": f"title_{index}",
         "text": {"type": "mrkdwn",
                  "text": f"*{index}. <{hit.url}|{escape_mrkdwn(clip(hit.title, 200))}>*\n{meta}"}},
        {"type": "section", "block_id": f"draft_{index}",
         "text": {"type": "mrkdwn", "text": escape_mrkdwn(clip(hit.passage, 2900))}},
    ]
    if hit.stale:
        blocks.append({"type": "context", "block_id": f"stale_{index}", "elements": [
            {"type": "mrkdwn",
             "text": ":warning: This article is past its review date. Check the facts before "
                     "sending."}]})
    buttons: list[dict[str, Any]] = [
        {"type": "button", "action_id": HELPFUL_ACTION,
         "text": {"type": "plain_text", "text": "Helpful"},
         "value": vote_value(query, hit.article_id, source)},
        {"type": "button", "action_id": NOT_HELPFUL_ACTION,
         "text": {"type": "plain_text", "text": "Not helpful"},
         "value": vote_value(query, hit.article_id, source)},
    ]
    if target is not None:
        buttons.append({"type": "button", "action_id": POST_REPLY_ACTION, "style": "primary",
                        "text": {"type": "plain_text", "text": "Post reply to thread"},
                        "value": post_value(target, hit.article_id, hit.passage)})
    blocks.append({"type": "actions", "block_id": f"buttons_{index}", "elements": buttons})
    return blocks


def suggestions_message(query: str, hits: list[Hit], *, source: str,
                        target: ReplyTarget | None = None,
                        truncated: bool = False) -> dict[str, Any]:
    """Up to three suggestions for `query` (text is the notification fallback)."""
    heading = f"Suggested replies for: _{escape_mrkdwn(clip(query, 200))}_"
    if truncated:
        heading += f"\n_(Your text was long; I searched its first {len(query):,} characters.)_"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "heading", "text": {"type": "mrkdwn", "text": heading}}]
    for index, hit in enumerate(hits, start=1):
        blocks.append({"type": "divider"})
        blocks.extend(suggestion_blocks(index, hit, query, source, target))
    titles = "; ".join(h.title for h in hits)
    return {"text": clip(f"{len(hits)} suggested replies: {titles}", 3000), "blocks": blocks}


def no_match_message(query: str) -> dict[str, Any]:
    text = (f"I found no article that answers _{escape_mrkdwn(clip(query, 200))}_ well enough. "
            "I have recorded it as a content gap for the knowledge editors.")
    return {"text": "No good match in the knowledge base; recorded as a content gap.",
            "blocks": [{"type": "section", "block_id": "no_match",
                        "text": {"type": "mrkdwn", "text": text}}]}


def posted_draft_message(draft: str, agent: str) -> dict[str, Any]:
    """The draft as posted in the thread, attributed to the agent who chose it."""
    return {"text": draft,
            "blocks": [
                {"type": "section",
                 "text": {"type": "mrkdwn", "text": escape_mrkdwn(clip(draft, 2900))}},
                {"type": "context", "elements": [
                    {"type": "mrkdwn", "text": f"Sent by <@{agent}> from a suggested reply"}]},
            ]}
