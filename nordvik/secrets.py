"""Secrets from the environment, or generated once into `var/secrets/`, and what is built on them.

    secret("rasa_token", "RASA_TOKEN")      -> the value of $RASA_TOKEN, else the contents of
                                               var/secrets/rasa_token (created with mode 0600)
    sealed = seal("anna@example.com", purpose="email")
    unseal(sealed, purpose="email")          -> "anna@example.com"
    unseal("[e-mail]", purpose="email")      -> None
    pseudonym("203.0.113.7", purpose="client")  -> a stable keyed hash, never the address

Nothing secret is written in code or YAML. Every process of one installation reads the same
`var/secrets/` (or the same environment), so a value sealed by one action-server replica is
unsealed by another. `NORDVIK_SECRET_KEY` (any string of 32+ characters) replaces the generated
master key, for installations spread over several machines.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as _random
import threading
from collections.abc import Mapping
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from nordvik.env import SettingsError, env_str, state_dir

SEALED_PREFIX = "sealed:v1:"
_lock = threading.Lock()


def secrets_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where generated secrets are kept: `secrets/` in the installation's state folder."""
    return state_dir(env) / "secrets"


def secret(
    name: str, env_var: str, *, env: Mapping[str, str] | None = None, directory: Path | None = None
) -> str:
    """The secret from `env_var`, or from `<directory>/<name>`, generated there on first use."""
    value = env_str(env, env_var)
    if value:
        return value
    folder = directory or secrets_dir()
    path = folder / name
    with _lock:
        if not path.exists():
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
            generated = _random.token_urlsafe(32)
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(generated)
        value = path.read_text().strip()
    if len(value) < 16:
        raise SettingsError(f"{path} holds a secret shorter than 16 characters; delete it")
    return value


def rasa_api_token(
    env: Mapping[str, str] | None = None, directory: Path | None = None
) -> str:
    """The token of Rasa's HTTP API (`?token=`): RASA_TOKEN, else `secrets/rasa_token`.

    Everything that holds it may already drive any conversation through Rasa's API, so the
    customer channels also take it as the mark of internal traffic (the demo-data generator,
    the benches): such messages spend no customer's message limit."""
    return secret("rasa_token", "RASA_TOKEN", env=env, directory=directory)


def _master_key(env: Mapping[str, str] | None = None) -> bytes:
    key = secret("master_key", "NORDVIK_SECRET_KEY", env=env)
    if len(key) < 32:
        raise SettingsError("NORDVIK_SECRET_KEY must be at least 32 characters")
    return key.encode("utf-8")


def _derived(purpose: str, env: Mapping[str, str] | None = None) -> bytes:
    return hmac.new(_master_key(env), f"nordvik:{purpose}".encode(), hashlib.sha256).digest()


def seal(text: str, *, purpose: str, env: Mapping[str, str] | None = None) -> str:
    """`text` encrypted and authenticated (Fernet) for `purpose`, safe to store in a tracker."""
    token = Fernet(base64.urlsafe_b64encode(_derived(purpose, env))).encrypt(text.encode("utf-8"))
    return SEALED_PREFIX + token.decode("ascii")


def unseal(value: object, *, purpose: str, env: Mapping[str, str] | None = None) -> str | None:
    """The text `seal` was given, or None for anything else (tampered, masked, other purpose)."""
    if not isinstance(value, str) or not value.startswith(SEALED_PREFIX):
        return None
    fernet = Fernet(base64.urlsafe_b64encode(_derived(purpose, env)))
    try:
        return fernet.decrypt(value[len(SEALED_PREFIX):].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        return None


def pseudonym(value: str, *, purpose: str, env: Mapping[str, str] | None = None) -> str:
    """A stable keyed hash of `value` (an IP address, an e-mail) that cannot be reversed."""
    digest = hmac.new(_derived(purpose, env), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return digest[:32]
