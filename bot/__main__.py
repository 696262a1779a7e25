"""`python -m bot`: Socket Mode when SLACK_APP_TOKEN is set, HTTP mode on SLACK_PORT otherwise."""

from __future__ import annotations

import logging
import sys

from dotenv import find_dotenv, load_dotenv
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app
from bot.http_server import EVENTS_PATH, serve
from bot.settings import SlackSettings
from nordvik.env import env_str


def main() -> int:
    load_dotenv(find_dotenv(usecwd=True))  # the .env of the directory it is started in
    settings = SlackSettings.from_env()
    missing = settings.missing()
    if missing:
        print(f"Skipping the Slack app: {missing} (see bot/README.md).")
        return 0
    logging.basicConfig(level=env_str(None, "LOG_LEVEL"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    if settings.socket_mode:
        print("Slack app: Socket Mode")
        SocketModeHandler(app, settings.app_token).start()
    else:
        host = env_str(None, "SLACK_HOST")
        print(f"Slack app: HTTP mode (Bolt's Starlette adapter under uvicorn) on "
              f"http://{host}:{settings.port}{EVENTS_PATH}", flush=True)
        serve(app, settings.signing_secret, host, settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
