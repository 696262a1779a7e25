"""All listeners, grouped by Slack surface; `register_listeners(app)` wires them in order."""

from __future__ import annotations

from slack_bolt import App

from bot.listeners import actions, assistant, commands, events, handoff, shortcuts, views
from bot.listeners.middleware import ignore_retried_events


def register_listeners(app: App) -> None:
    app.use(ignore_retried_events)  # first: a retried event must reach nothing else
    assistant.register(app)  # the Assistant middleware claims assistant-thread messages

    # --- other listener packages -----------------------------------------------------------
    # Packages that listen to `message` events with matchers register here, before the
    # catch-all message listener below (bot/listeners/handoff: the human-handoff relay).
    handoff.register(app)
    # ----------------------------------------------------------------------------------------

    commands.register(app)
    shortcuts.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
    events.register_catch_all(app)  # last
