"""Reading settings from the environment: one parser per type, errors that name the variable.

Each package keeps one frozen settings dataclass with `from_env(env=None)`; these functions do
the parsing, so a bad value reads the same everywhere:

    env_int(env, "KB_PORT", 8900, low=1, high=65535)
    -> SettingsError: KB_PORT='abc' is not a whole number
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR_ENV = "NORDVIK_VAR_DIR"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def source(env: Mapping[str, str] | None) -> Mapping[str, str]:
    """`env`, or the process environment when it is None."""
    return os.environ if env is None else env


def env_str(env: Mapping[str, str] | None, name: str, default: str = "") -> str:
    raw = source(env).get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def env_int(
    env: Mapping[str, str] | None, name: str, default: int, *,
    low: int | None = None, high: int | None = None,
) -> int:
    raw = source(env).get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from exc
    _check_range(name, value, low, high)
    return value


def env_float(
    env: Mapping[str, str] | None, name: str, default: float, *,
    low: float | None = None, high: float | None = None,
) -> float:
    raw = source(env).get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if value != value:  # NaN
        raise SettingsError(f"{name}={raw!r} is not a number")
    _check_range(name, value, low, high)
    return value


def env_bool(env: Mapping[str, str] | None, name: str, default: bool) -> bool:
    raw = source(env).get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not one of 1/0, true/false, yes/no, on/off")


def env_list(
    env: Mapping[str, str] | None, name: str, default: tuple[str, ...] = ()
) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    raw = source(env).get(name)
    if raw is None or raw.strip() == "":
        return default
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_choice(
    env: Mapping[str, str] | None, name: str, default: str, choices: tuple[str, ...]
) -> str:
    value = env_str(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_path(env: Mapping[str, str] | None, name: str, default: str) -> Path:
    """A path; a relative one is taken from the repository root, whatever the working directory."""
    path = Path(env_str(env, name, default))
    return path if path.is_absolute() else REPO_ROOT / path


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The installation's state folder: `NORDVIK_VAR_DIR`, else `<repo>/var`.

    Everything an installation generates lives below it: secrets, SQLite databases, the knowledge
    index, the mail spool, run files. A test session sets its own, so it never reads the
    checkout's `var/` (where `make run` keeps its state)."""
    return env_path(env, STATE_DIR_ENV, "var")


def env_state_path(env: Mapping[str, str] | None, name: str, default: str) -> Path:
    """A path setting: `name`'s value (relative: from the repository root), else `default`
    inside the state folder."""
    if env_str(env, name):
        return env_path(env, name, default)
    return state_dir(env) / default


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise SettingsError(f"{name}={value} must be at least {low}")
    if high is not None and value > high:
        raise SettingsError(f"{name}={value} must be at most {high}")
