"""Slack side of the live handoff: agent replies in a handoff thread, the end buttons, the
"Send it by e-mail" button under a reply a messaging app's window kept from the customer, and
the phone callback card's outcome buttons."""

from __future__ import annotations

import re

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.listeners.handoff.callbacks import callback_outcome_button
from bot.listeners.handoff.email import send_by_email_button
from bot.listeners.handoff.relay import (
    end_handoff_button,
    is_agent_reply_in_handoff_thread,
    relay_agent_reply,
)
from handoff.callbacks import CALLBACK_ACTION_PREFIX
from handoff.relay import RESOLVE_ACTION_ID, UNRESOLVED_ACTION_ID, HandoffSettings
from handoff.undelivered import SEND_BY_EMAIL_ACTION_ID


def register(app: App, settings: HandoffSettings | None = None) -> None:
    """Register the handoff listeners. Register before any catch-all `message` listener."""
    handoff = settings or HandoffSettings.from_env()

    def matches(body: dict) -> bool:
        return is_agent_reply_in_handoff_thread(body.get("event") or {}, handoff)

    def on_reply(body: dict) -> None:
        relay_agent_reply(body.get("event") or {}, handoff)

    def on_end(ack: Ack, body: dict) -> None:
        end_handoff_button(ack, body, handoff)

    app.event("message", matchers=[matches])(on_reply)
    app.action(RESOLVE_ACTION_ID)(on_end)
    app.action(UNRESOLVED_ACTION_ID)(on_end)

    def on_send_by_email(ack: Ack, body: dict) -> None:
        send_by_email_button(ack, body, handoff)

    app.action(SEND_BY_EMAIL_ACTION_ID)(on_send_by_email)

    def on_callback_outcome(ack: Ack, body: dict, client: WebClient) -> None:
        callback_outcome_button(ack, body, client)

    app.action(re.compile(f"^{CALLBACK_ACTION_PREFIX}"))(on_callback_outcome)
