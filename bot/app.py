"""The Bolt app: settings, a Web API client, the listeners. Request signatures are verified."""

from __future__ import annotations

from slack_bolt import App
from slack_sdk import WebClient

from bot.listeners import register_listeners
from bot.settings import SlackSettings


def create_app(settings: SlackSettings | None = None, client: WebClient | None = None) -> App:
    settings = settings or SlackSettings.from_env()
    if client is None:
        base = settings.api_url or WebClient.BASE_URL
        client = WebClient(token=settings.bot_token, base_url=base.rstrip("/") + "/")
    app = App(signing_secret=settings.signing_secret, client=client)
    register_listeners(app)
    return app
