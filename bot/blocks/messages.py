"""Small messages: notices, refusals, the home tab and the /suggest modal."""

from __future__ import annotations

from typing import Any

from nordvik.text import clip

SUGGEST_MODAL_CALLBACK = "suggest_modal"
QUESTION_BLOCK = "question"
QUESTION_ACTION = "question_input"


def notice(text: str) -> dict[str, Any]:
    """A one-section message (text doubles as the notification fallback)."""
    return {"text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}}]}


def suggest_modal(channel_id: str) -> dict[str, Any]:
    """Asks for the customer's question when /suggest came without one."""
    return {
        "type": "modal",
        "callback_id": SUGGEST_MODAL_CALLBACK,
        "private_metadata": channel_id,
        "title": {"type": "plain_text", "text": "Suggest a reply"},
        "submit": {"type": "plain_text", "text": "Suggest"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": QUESTION_BLOCK,
            "label": {"type": "plain_text", "text": "The customer's question"},
            "element": {"type": "plain_text_input", "action_id": QUESTION_ACTION,
                        "multiline": True, "max_length": 3000},
        }],
    }
