"""Who may call `kb serve`: a bearer token, required when one is configured.

    token = configured_token(settings)      # KB_TOKEN, else var/secrets/kb_token if it exists
    check_bind(host, token)                 # a non-loopback address without a token: refused

`kb serve` binds to loopback by default (``KB_HOST=127.0.0.1``). It refuses to listen on any
other address unless a token is configured, and whenever a token is configured every request
except ``GET /healthz`` must carry ``Authorization: Bearer <token>`` (compared in constant
time; 401 otherwise). `kb token` creates ``var/secrets/kb_token`` (mode 0600) through
nordvik.secrets, so every process of one installation (kb serve, the action server, the Slack
app) reads the same value; ``KB_TOKEN`` overrides it, e.g. across machines.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from pathlib import Path

from kb_index.errors import KnowledgeError
from kb_index.settings import KbSettings
from nordvik.env import SettingsError
from nordvik.secrets import secret, secrets_dir

logger = logging.getLogger(__name__)

TOKEN_NAME = "kb_token"
TOKEN_ENV = "KB_TOKEN"
OPEN_PATHS = frozenset({"/healthz"})


def token_path(directory: Path | None = None) -> Path:
    return (directory or secrets_dir()) / TOKEN_NAME


def configured_token(settings: KbSettings, directory: Path | None = None) -> str:
    """The token `kb serve` demands and clients send: KB_TOKEN, else the generated file if
    `kb token` made one, else "" (none configured)."""
    if settings.token:
        return settings.token
    if not token_path(directory).is_file():
        return ""
    try:
        return secret(TOKEN_NAME, TOKEN_ENV, env={}, directory=directory)
    except (OSError, SettingsError) as exc:
        raise KnowledgeError(f"{token_path(directory)}: unusable token ({exc})") from exc


def create_token(directory: Path | None = None) -> Path:
    """Generate var/secrets/kb_token (0600) unless it exists; returns its path."""
    try:
        secret(TOKEN_NAME, TOKEN_ENV, env={}, directory=directory)
    except (OSError, SettingsError) as exc:
        raise KnowledgeError(f"{token_path(directory)}: cannot create the token ({exc})") from exc
    return token_path(directory)


def is_loopback(host: str) -> bool:
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str) -> None:
    """Refuse to listen beyond loopback without a token."""
    if not is_loopback(host) and not token:
        raise KnowledgeError(
            f"refusing to listen on {host}: beyond loopback kb serve needs a token "
            f"(set {TOKEN_ENV}, or run `kb token` to generate {token_path()})"
        )


def token_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries the token (constant-time comparison)."""
    if not header:
        return False
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(
        value.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8")
    )
