"""Settings of the Rasa server add-ons (customer channels, limits) and the action server.

Read once per process from the environment; nothing here imports Rasa.

- `WEB_ORIGINS` (default `http://localhost:<WEB_PORT>,http://127.0.0.1:<WEB_PORT>`): the pages
  allowed to use Rasa from a browser (CORS and socket.io); `*` allows any page.
- `RATE_SESSION_MESSAGES` / `RATE_SESSION_SECONDS` (20 / 60): messages one conversation may send
  per window; `RATE_CLIENT_MESSAGES` / `RATE_CLIENT_SECONDS` (60 / 60): the same per client
  address. 0 turns a limit off.
- Internal traffic (the demo-data generator, the benches) sends Rasa's API token (`RASA_TOKEN`,
  nordvik.secrets.rasa_api_token) as `Authorization: Bearer` on the REST channel: it spends no
  customer's limit and counts as one client of its own.
- `SANIC_PROXIES_COUNT` (Sanic's own setting): proxies in front of Rasa whose `X-Forwarded-For`
  is believed; without it the connection's peer is the client.
- `MAX_MESSAGE_CHARS` (5000): longer customer messages are refused (REST: 400).
- `REDIS_URL`: message counts shared by every Rasa server through Redis (`RATE_LIMIT_PREFIX`).
- `ACTION_HOST` / `ACTION_PORT` (127.0.0.1 / 5055): where the action server listens;
  `ACTION_SERVER_TOKEN` (else generated into var/secrets/action_server_token): the shared secret
  Rasa sends with every call.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from nordvik.env import SettingsError, env_float, env_int, env_list, env_str
from nordvik.secrets import rasa_api_token, secret

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def default_web_origins(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    port = env_int(env, "WEB_PORT", low=1, high=65535)
    return (f"http://localhost:{port}", f"http://127.0.0.1:{port}")


def web_origins(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The widget's page origins (scheme://host[:port]); ("*",) allows every origin."""
    origins = env_list(env, "WEB_ORIGINS") or default_web_origins(env)
    for origin in origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise SettingsError(
                f"WEB_ORIGINS entry {origin!r} must look like https://shop.example or *"
            )
        if origin.endswith("/"):
            raise SettingsError(f"WEB_ORIGINS entry {origin!r} must not end with '/'")
    return origins


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ChannelSettings:
    """Limits and origins of the customer channels (REST, socket.io) in the Rasa server."""

    web_origins: tuple[str, ...] = ("http://localhost:8080", "http://127.0.0.1:8080")
    session_messages: int = 20
    session_seconds: float = 60.0
    client_messages: int = 60
    client_seconds: float = 60.0
    max_message_chars: int = 5000
    max_sender_chars: int = 200
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    rate_limit_prefix: str = "nordvik"
    # Rasa's API token: a REST message carrying it (Authorization: Bearer) is internal traffic
    internal_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChannelSettings:
        prefix = env_str(env, "RATE_LIMIT_PREFIX")
        if not prefix.replace("_", "").replace("-", "").isalnum():
            raise SettingsError(f"RATE_LIMIT_PREFIX={prefix!r} must be letters, digits, - or _")
        return cls(
            web_origins=web_origins(env),
            session_messages=env_int(env, "RATE_SESSION_MESSAGES", low=0),
            session_seconds=env_float(env, "RATE_SESSION_SECONDS", low=0.001),
            client_messages=env_int(env, "RATE_CLIENT_MESSAGES", low=0),
            client_seconds=env_float(env, "RATE_CLIENT_SECONDS", low=0.001),
            max_message_chars=env_int(env, "MAX_MESSAGE_CHARS", low=1),
            redis_url=env_str(env, "REDIS_URL") or None,
            rate_limit_prefix=prefix,
            internal_token=rasa_api_token(env),
        )


@dataclass(frozen=True)
class ActionServerSettings:
    """Where the action server listens and the secret every call must carry."""

    host: str = "127.0.0.1"
    port: int = 5055
    token: str = field(default="", repr=False)
    actions_package: str = "actions"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ActionServerSettings:
        return cls(
            host=env_str(env, "ACTION_HOST"),
            port=env_int(env, "ACTION_PORT", low=1, high=65535),
            token=secret("action_server_token", "ACTION_SERVER_TOKEN", env=env),
            actions_package=env_str(env, "ACTION_PACKAGE"),
        )
