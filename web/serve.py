"""Serve the demo store page with the rasa-webchat widget.

`python -m web.serve` (started by `make run`) serves `web/index.html` on WEB_PORT (8080). The
widget bundle comes from `web/node_modules/rasa-webchat` (installed by `make setup-web`); the
page learns Rasa's socket.io URL from `/config.js`, built from the environment.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from message_catalogue.messages import get_catalogue
from nordvik.env import env_choice, env_int, env_str
from nordvik.languages import LANGUAGES

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
BUNDLE_PATH = WEB_DIR / "node_modules" / "rasa-webchat" / "lib" / "index.js"


class BundleMissing(RuntimeError):
    """The rasa-webchat bundle is not installed."""


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    socket_url: str = "http://localhost:5005"
    storage: str = "local"
    bundle_path: Path = BUNDLE_PATH

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebSettings:
        rasa_port = env_int(env, "RASA_PORT", 5005, low=1, high=65535)
        return cls(
            host=env_str(env, "WEB_HOST", "127.0.0.1"),
            port=env_int(env, "WEB_PORT", 8080, low=1, high=65535),
            socket_url=env_str(env, "RASA_SOCKET_URL", f"http://localhost:{rasa_port}"),
            storage=env_choice(env, "WEB_CHAT_STORAGE", "local", ("local", "session")),
        )


def widget_labels() -> dict[str, dict[str, str]]:
    """The widget's own labels in every language, from the message catalogue."""
    words = get_catalogue()
    return {language: {"subtitle": words.text("utter_part_widget_subtitle", language),
                       "hint": words.text("utter_part_widget_hint", language)}
            for language in LANGUAGES}


def config_script(settings: WebSettings) -> str:
    """The `/config.js` body: the widget's connection settings and labels as a global."""
    config = {"socketUrl": settings.socket_url, "socketPath": "/socket.io/",
              "storage": settings.storage, "initPayload": "/greet", "labels": widget_labels()}
    return f"window.NORDVIK_CHAT = {json.dumps(config)};\n"


def build_app(settings: WebSettings) -> web.Application:
    if not settings.bundle_path.is_file():
        raise BundleMissing(
            f"rasa-webchat bundle not found at {settings.bundle_path}; run `make setup-web`"
        )

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "index.html")

    async def widget(_: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_DIR / "widget.js")

    async def bundle(_: web.Request) -> web.FileResponse:
        return web.FileResponse(settings.bundle_path)

    async def config(_: web.Request) -> web.Response:
        return web.Response(text=config_script(settings), content_type="application/javascript")

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/index.html", index)
    app.router.add_get("/widget.js", widget)
    app.router.add_get("/vendor/rasa-webchat.js", bundle)
    app.router.add_get("/config.js", config)
    app.router.add_get("/health", health)
    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve the Nordvik Home demo page with the chat widget"
    )
    parser.add_argument("--host", help="interface to bind (WEB_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (WEB_PORT, default 8080)")
    parser.add_argument("--socket-url", help="Rasa socket.io URL (RASA_SOCKET_URL)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    env = WebSettings.from_env()
    settings = WebSettings(
        host=args.host or env.host,
        port=args.port or env.port,
        socket_url=args.socket_url or env.socket_url,
        storage=env.storage,
    )
    try:
        app = build_app(settings)
    except BundleMissing as exc:
        logger.error("%s", exc)
        return 2
    logger.info("demo store page on http://%s:%s (Rasa socket.io at %s)",
                settings.host, settings.port, settings.socket_url)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
