"""The "Send it by e-mail" button under a note that an agent's reply was not delivered (a
messaging app's reply window had closed): the Slack app asks the Rasa server's e-mail channel to
mail the kept reply to the verified customer, and updates the note with who sent it.

The Slack app neither composes nor sends mail: that is the e-mail channel's (mail/), an
independent sibling of this package. It asks over HTTP, as it relays agent replies through
Rasa's API; handoff/undelivered.py describes the three parts and why the work is split so.
Every outcome is told to the agent in Slack; a reply that could not be sent stays kept, and the
button stays, for another click.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError

from bot.listeners.handoff.buttons import button_press
from bot.listeners.handoff.relay import say_in_thread
from handoff.relay import HandoffSettings
from handoff.undelivered import EmailRequestError, emailed_blocks, emailed_line, request_email

logger = logging.getLogger(__name__)

FAILURES = {
    "store": ":warning: That reply was not sent by e-mail: the order/CRM store is unavailable. "
             "It is kept: press *Send it by e-mail* again in a minute.",
    "mail": ":warning: That reply was not sent by e-mail: the mail server did not take it and "
            "it could not be kept in the outbox. It is kept here: press *Send it by e-mail* "
            "again in a minute.",
    "unreachable": ":warning: That reply was not sent by e-mail: the chat server is "
                   "unavailable. It is kept: press *Send it by e-mail* again in a minute.",
}
NOTICES = {
    "sending": "That reply is being sent by e-mail already (another click); it goes once.",
    "unknown": ":warning: That reply is no longer kept (replies are kept for 30 days), so it "
               "cannot be sent by e-mail from here.",
    "no_address": ":warning: That reply was not sent by e-mail: no e-mail address is on file "
                  "for the customer.",
}

Requester = Callable[[HandoffSettings, int, str], dict[str, Any]]


def send_by_email_button(ack: Callable[..., Any], body: Mapping[str, Any],
                         settings: HandoffSettings, request: Requester = request_email
                         ) -> str | None:
    """An agent pressed "Send it by e-mail": the outcome ("sent", "queued", ...) or None."""
    ack()
    press = button_press(body)
    if press is None:
        logger.warning("send-by-e-mail button with a malformed reply id")
        return None
    value, agent = press.id, press.agent
    channel = str((body.get("channel") or {}).get("id") or settings.channel)
    message = body.get("message") or {}
    note_ts = str(message.get("ts") or "")
    thread_ts = str(message.get("thread_ts") or note_ts)
    try:
        result = request(settings, value, agent)
    except EmailRequestError as error:
        logger.warning("kept reply %s not sent by e-mail: %s", value, error.reason)
        say_in_thread(settings, channel, thread_ts, FAILURES[error.reason])
        return None
    outcome = str(result.get("outcome"))
    if outcome in ("sent", "queued", "already_sent"):
        sender = str(result.get("agent") or agent)
        done = "queued" if outcome == "queued" else "sent"
        line = emailed_line(done, sender, str(result.get("language") or "en"))
        _update_note(settings, channel, note_ts, message, line)
        if outcome == "queued":
            say_in_thread(settings, channel, thread_ts,
                          ":warning: The mail server did not take that e-mail at once: it waits "
                          "in the outbox and is retried (a case is opened if it never goes).")
    else:
        say_in_thread(settings, channel, thread_ts, NOTICES.get(outcome, NOTICES["unknown"]))
    logger.info("send-by-e-mail of kept reply %s: %s", value, outcome)
    return outcome


def _update_note(settings: HandoffSettings, channel: str, ts: str,
                 message: Mapping[str, Any], line: str) -> None:
    if not ts:
        return
    try:
        settings.slack_client().chat_update(
            channel=channel, ts=ts, text=f"{message.get('text') or ''}\n{line}".strip(),
            blocks=emailed_blocks(list(message.get("blocks") or []), line))
    except (SlackApiError, SlackClientError, OSError):
        logger.exception("the note of a kept reply was not updated")
