"""Live human handoff: the relay between a customer's chat (Rasa) and an agent's Slack thread.

Plain, typed functions used from both sides:
- the action server (actions/handoff.py) posts the handoff and the customer's messages to Slack;
  (this package is neither the action server's nor the Slack app's: both deploy it);
- the Slack app (bot/listeners/handoff) relays agent replies to the customer through Rasa's
  `POST /conversations/{id}/trigger_intent?output_channel=latest` and closes the handoff.

No state is kept in memory: the case (status, Slack thread) lives in the CRM store and the
conversation (handoff slots, every message) in Rasa's tracker store.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from nordvik.env import env_int, env_str
from nordvik.languages import LANGUAGE_NAMES
from nordvik.secrets import rasa_api_token
from nordvik.text import clip, escape_mrkdwn

logger = logging.getLogger(__name__)

AGENT_MESSAGE_INTENT = "EXTERNAL_agent_message"
HANDOFF_CLOSED_INTENT = "EXTERNAL_handoff_closed"
AGENT_MESSAGE_ENTITY = "agent_message"
RESOLVE_ACTION_ID = "handoff_resolve"
UNRESOLVED_ACTION_ID = "handoff_unresolved"
TRANSCRIPT_LINES = 30
SECTION_LIMIT = 2900  # Slack allows 3000 characters in a section's text


class RelayError(RuntimeError):
    """A handoff message could not be delivered (Slack or Rasa unavailable)."""


@dataclass(frozen=True)
class HandoffSettings:
    """Where handoffs go and how replies come back. Built from the environment."""

    channel: str = ""
    bot_token: str = ""
    slack_api_url: str = "https://slack.com/api/"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    expected_wait_minutes: int = 5
    delivery_attempts: int = 30
    retry_seconds: float = 2.0
    timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> HandoffSettings:
        rasa_port = env_int(env, "RASA_PORT", 5005, low=1, high=65535)
        return cls(
            channel=env_str(env, "SLACK_HANDOFF_CHANNEL"),
            bot_token=env_str(env, "SLACK_BOT_TOKEN"),
            slack_api_url=env_str(env, "SLACK_API_URL", "https://slack.com/api/"),
            rasa_url=env_str(env, "RASA_URL", f"http://127.0.0.1:{rasa_port}"),
            # Rasa's API token: RASA_TOKEN, else the one generated into var/secrets for the
            # Rasa server (rasa_addons.rasa_server), so `python -m bot` alone has it too
            rasa_token=rasa_api_token(env),
            expected_wait_minutes=env_int(env, "HANDOFF_EXPECTED_WAIT_MINUTES", 5, low=0),
            delivery_attempts=env_int(env, "HANDOFF_DELIVERY_ATTEMPTS", 30, low=0),
            retry_seconds=env_int(env, "HANDOFF_RETRY_MS", 2000, low=0) / 1000.0,
        )

    def missing(self) -> str | None:
        """Why Slack handoff cannot work with these settings, or None."""
        absent = [
            name
            for name, value in (("SLACK_HANDOFF_CHANNEL", self.channel),
                                ("SLACK_BOT_TOKEN", self.bot_token))
            if not value
        ]
        return f"{', '.join(absent)} not set" if absent else None

    def slack_client(self) -> WebClient:
        base = self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"
        return WebClient(token=self.bot_token, base_url=base, timeout=int(self.timeout_seconds))


# --- the transcript -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str  # "customer", "bot" or "agent"
    text: str


def transcript_from_events(events: Iterable[Mapping[str, Any]]) -> list[TranscriptLine]:
    """The readable conversation from Rasa tracker events (oldest first).

    External intents (agent messages relayed through Rasa) show as the agent's words; button
    payloads show as the button's intent.
    """
    lines: list[TranscriptLine] = []
    after_agent_intent = False
    for event in events:
        kind = event.get("event")
        text = event.get("text")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            after_agent_intent = intent.get("name") == AGENT_MESSAGE_INTENT
            if isinstance(text, str) and text.startswith("EXTERNAL_"):
                continue
            if isinstance(text, str) and text.startswith("/"):
                text = f"[button: {intent.get('name') or text[1:]}]"
            if text:
                lines.append(TranscriptLine("customer", str(text)))
        elif kind == "bot" and text:
            lines.append(TranscriptLine("agent" if after_agent_intent else "bot", str(text)))
    return lines


def format_transcript(lines: Sequence[TranscriptLine], limit: int = TRANSCRIPT_LINES) -> str:
    """The newest lines (at most `limit`) that fit in one Slack section, oldest first."""
    rendered: list[str] = []
    budget = SECTION_LIMIT - 40  # room for the "earlier lines" note
    for line in reversed(list(lines)[-limit:]):
        item = f"*{line.speaker}:* {clip(line.text, 300)}"
        if len(item) + 1 > budget:
            break
        rendered.insert(0, item)
        budget -= len(item) + 1
    skipped = len(lines) - len(rendered)
    if skipped:
        rendered.insert(0, f"_({skipped} earlier lines not shown)_")
    return "\n".join(rendered) or "_(no messages yet)_"


# --- Block Kit builders (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class HandoffContext:
    """Everything the agent sees in the handoff post."""

    case_id: int
    conversation_id: str
    reason: str
    customer: str | None  # verified customer's name, None when not verified
    order_summary: str | None  # order number, status, carrier... of the verified order
    transcript: tuple[TranscriptLine, ...]
    suggestions: tuple[tuple[str, str, str], ...]  # (title, url, passage)
    suggestions_note: str | None = None  # e.g. "knowledge index unavailable"
    language: str = "en"  # the language the customer writes (nordvik.languages code)
    channel: str = "chat"  # chat or email


def handoff_blocks(context: HandoffContext) -> list[dict[str, Any]]:
    customer = escape_mrkdwn(context.customer) if context.customer else "not verified"
    order = escape_mrkdwn(context.order_summary) if context.order_summary else "no verified order"
    transcript = format_transcript(
        [TranscriptLine(line.speaker, escape_mrkdwn(line.text)) for line in context.transcript]
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text",
                                    "text": f"{channel_title(context.channel)} handoff: "
                                            f"case #{context.case_id}"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Reason:*\n{escape_mrkdwn(context.reason)}"},
            {"type": "mrkdwn", "text": f"*Customer:*\n{customer}"},
            {"type": "mrkdwn", "text": f"*Order:*\n{order}"},
            {"type": "mrkdwn", "text": f"*Customer writes:*\n{language_label(context.language)}"},
            {"type": "mrkdwn",
             "text": f"*Conversation:*\n`{escape_mrkdwn(context.conversation_id)}`"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": "*Transcript*\n" + transcript}},
    ]
    if context.suggestions:
        items = [
            f"• <{url}|{escape_mrkdwn(title)}>: {escape_mrkdwn(clip(passage, 400))}"
            for title, url, passage in context.suggestions
        ]
        text = "*Knowledge suggestions*\n" + "\n".join(items)
    else:
        text = "*Knowledge suggestions*\n" + (context.suggestions_note or "nothing relevant found")
    section = {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}
    blocks.append({"type": "section", "text": section})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
        "Reply in this thread: each reply goes to the customer's chat. "
        "End the handoff with a button below; the bot then takes over and asks for a rating."}]})
    blocks.append(close_buttons(context.case_id))
    return blocks


def close_buttons(case_id: int) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"handoff_close_{case_id}",
        "elements": [
            {"type": "button", "action_id": RESOLVE_ACTION_ID, "style": "primary",
             "text": {"type": "plain_text", "text": "End handoff: resolved"},
             "value": str(case_id)},
            {"type": "button", "action_id": UNRESOLVED_ACTION_ID,
             "text": {"type": "plain_text", "text": "End handoff: follow up by e-mail"},
             "value": str(case_id)},
        ],
    }


def closed_blocks(case_id: int, resolution: str, agent: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text":
            f"*Handoff ended* for case #{case_id} by <@{escape_mrkdwn(agent)}>: "
            f"{escape_mrkdwn(resolution)}. "
            "The bot has taken over the chat again."}},
    ]


# Channels whose names are not written as a capitalised word (the messaging apps).
CHANNEL_TITLES = {"whatsapp": "WhatsApp", "messenger": "Messenger", "line": "LINE"}


def channel_title(channel: str) -> str:
    """How the handoff post names the channel: 'Chat', 'Email', 'WhatsApp', 'LINE'."""
    return CHANNEL_TITLES.get(channel, channel.capitalize())


def language_label(language: str) -> str:
    """'Swedish (sv)': what agents read about the customer's language."""
    return f"{LANGUAGE_NAMES.get(language, language)} ({language})"


def handoff_fallback_text(context: HandoffContext) -> str:
    return (f"{channel_title(context.channel)} handoff: case #{context.case_id} ({context.reason}; "
            f"the customer writes {LANGUAGE_NAMES.get(context.language, context.language)})")


# --- Rasa side -----------------------------------------------------------------------------------


class RasaConversations:
    """Trigger external intents in a conversation through Rasa's HTTP API.

    `output_channel=latest` makes Rasa send the bot's response through the channel of the
    customer's latest message: for the widget that is `socketio`, which emits `bot_uttered` to the
    room named after the session id (the conversation id) that the widget's socket joined.
    """

    def __init__(self, settings: HandoffSettings) -> None:
        self.settings = settings

    def trigger(self, conversation_id: str, intent: str,
                entities: Mapping[str, str] | None = None) -> None:
        """Deliver, retrying while Rasa is unreachable (e.g. restarting); RelayError at the end."""
        query = urllib.parse.urlencode(
            {"output_channel": "latest", **({"token": self.settings.rasa_token}
                                             if self.settings.rasa_token else {})}
        )
        url = (f"{self.settings.rasa_url.rstrip('/')}/conversations/"
               f"{urllib.parse.quote(conversation_id, safe='')}/trigger_intent?{query}")
        body = json.dumps({"name": intent, "entities": dict(entities or {})}).encode("utf-8")
        attempts = max(1, self.settings.delivery_attempts)
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(
                url, data=body, method="POST", headers={"Content-Type": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.settings.timeout_seconds) as resp:
                    resp.read()
                return
            except urllib.error.HTTPError as exc:
                if exc.code < 500 and exc.code not in (409, 429):
                    raise RelayError(f"Rasa refused {intent} (HTTP {exc.code})") from exc
                # 409 while a restarting server has no model loaded yet; 5xx while it starts
                logger.warning("Rasa answered HTTP %s to %s (attempt %s/%s)",
                               exc.code, intent, attempt, attempts)
            except OSError as exc:
                logger.warning("Rasa unreachable for %s (attempt %s/%s): %s",
                               intent, attempt, attempts, type(exc).__name__)
            if attempt < attempts:
                time.sleep(self.settings.retry_seconds)
        raise RelayError(f"Rasa did not accept {intent} after {attempts} attempts")


# --- the customer's expected wait ---------------------------------------------------------------

OPENING_HOURS: dict[int, tuple[int, int]] = {  # weekday -> (opens, closes), Stockholm time
    0: (8, 18), 1: (8, 18), 2: (8, 18), 3: (8, 18), 4: (8, 18), 5: (10, 14),
}


def agents_on_duty(now: datetime) -> bool:
    """Whether `now` (timezone-aware) falls inside chat opening hours (CET/CEST)."""
    local = now.astimezone(ZoneInfo("Europe/Stockholm"))
    hours = OPENING_HOURS.get(local.weekday())
    return hours is not None and hours[0] <= local.hour < hours[1]
