"""The settings home's readers: every environment variable is read here, one parser per type,
errors that name the variable.

Each variable is declared once in nordvik/variables/ (type, default, services, help). A reader
refuses a name declared nowhere (UndeclaredVariableError) and, when the caller gives no default,
takes the declared one, so a default lives in one place:

    env_int(env, "KB_PASSAGE_CHARS", low=50)      -> 700 when unset
    -> SettingsError: KB_PASSAGE_CHARS='abc' is not a whole number

Nothing outside this module touches `os.environ`: `process_env()` copies the process
environment for a child process, `set_default()` sets a library's flag
(tests/nordvik/test_settings_home.py checks both).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import cast

from nordvik.variables import UndeclaredVariableError, Variable, declared

REPO_ROOT = Path(__file__).resolve().parent.parent
STATE_DIR_ENV = "NORDVIK_VAR_DIR"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}

__all__ = ["REPO_ROOT", "STATE_DIR_ENV", "SettingsError", "UndeclaredVariableError", "env_bool",
           "env_choice", "env_float", "env_int", "env_list", "env_path", "env_state_path",
           "env_str", "process_env", "set_default", "source", "state_dir"]


class SettingsError(ValueError):
    """An environment variable holds a value that cannot be used."""


def source(env: Mapping[str, str] | None) -> Mapping[str, str]:
    """`env`, or the process environment when it is None."""
    return os.environ if env is None else env


def process_env(**overrides: str) -> dict[str, str]:
    """A copy of the process environment, for a child process; `overrides` (declared names
    only) replace what it holds."""
    for name in overrides:
        declared(name)
    return {**os.environ, **overrides}


def set_default(name: str, value: str) -> None:
    """Set a declared variable in this process's environment unless it is already set (flags
    that libraries read, such as HF_HUB_OFFLINE)."""
    declared(name)
    os.environ.setdefault(name, value)


def _raw(env: Mapping[str, str] | None, name: str) -> str | None:
    """The value of a declared variable, None when unset or blank."""
    declared(name)
    raw = source(env).get(name)
    return None if raw is None or raw.strip() == "" else raw


def _default(name: str, kind: type, given: object) -> object:
    """The caller's default, else the declared one, which must be of `kind`."""
    if given is not None:
        return given
    variable: Variable = declared(name)
    value = variable.default
    if value is None or not isinstance(value, kind):
        raise SettingsError(
            f"{name} has no declared {kind.__name__} default (nordvik/variables/); the reader "
            "must give one"
        )
    return value


def env_str(env: Mapping[str, str] | None, name: str, default: str | None = None) -> str:
    raw = _raw(env, name)
    if raw is not None:
        return raw.strip()
    if default is not None:
        return default
    value = declared(name).default
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(value)
    return str(int(value)) if isinstance(value, bool) else str(value)


def env_int(
    env: Mapping[str, str] | None, name: str, default: int | None = None, *,
    low: int | None = None, high: int | None = None,
) -> int:
    raw = _raw(env, name)
    if raw is None:
        return cast(int, _default(name, int, default))
    try:
        number = int(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from exc
    _check_range(name, number, low, high)
    return number


def env_float(
    env: Mapping[str, str] | None, name: str, default: float | None = None, *,
    low: float | None = None, high: float | None = None,
) -> float:
    raw = _raw(env, name)
    if raw is None:
        return cast(float, _default(name, float, default))
    try:
        number = float(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a number") from exc
    if number != number:  # NaN
        raise SettingsError(f"{name}={raw!r} is not a number")
    _check_range(name, number, low, high)
    return number


def env_bool(env: Mapping[str, str] | None, name: str, default: bool | None = None) -> bool:
    raw = _raw(env, name)
    if raw is None:
        return cast(bool, _default(name, bool, default))
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not one of 1/0, true/false, yes/no, on/off")


def env_list(
    env: Mapping[str, str] | None, name: str, default: tuple[str, ...] | None = None
) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    raw = _raw(env, name)
    if raw is None:
        return cast(tuple[str, ...], _default(name, tuple, default))
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def env_choice(
    env: Mapping[str, str] | None, name: str, default: str | None = None,
    choices: tuple[str, ...] = (),
) -> str:
    value = env_str(env, name, default).lower()
    if value not in choices:
        raise SettingsError(f"{name}={value!r} is not one of {', '.join(choices)}")
    return value


def env_path(env: Mapping[str, str] | None, name: str, default: str | None = None) -> Path:
    """A path; a relative one is taken from the repository root, whatever the working directory."""
    path = Path(env_str(env, name, default))
    return path if path.is_absolute() else REPO_ROOT / path


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    """The installation's state folder: `NORDVIK_VAR_DIR`, else `<repo>/var`.

    Everything an installation generates lives below it: secrets, SQLite databases, the knowledge
    index, the mail spool, run files. A test session sets its own, so it never reads the
    checkout's `var/` (where `make run` keeps its state)."""
    return env_path(env, STATE_DIR_ENV)


def env_state_path(env: Mapping[str, str] | None, name: str, default: str | None = None) -> Path:
    """A path setting: `name`'s value (relative: from the repository root), else `default`
    (else the declared one) inside the state folder."""
    if env_str(env, name, ""):
        return env_path(env, name)
    return state_dir(env) / cast(str, _default(name, str, default))


def resolve_sqlite_url(url: str) -> str:
    """A database URL as every process reads it: a relative SQLite path (``sqlite:///var/x.db``)
    is taken from the repository root, whatever the working directory; a ``?query`` part is
    kept; absolute paths, ``:memory:`` and other databases are left as they are."""
    url = url.strip()
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/"):
        path_part, sep, query = url[len(prefix):].partition("?")
        if path_part and path_part != ":memory:" and not Path(path_part).is_absolute():
            return f"{prefix}{REPO_ROOT / path_part}{sep}{query}"
    return url


def _check_range(name: str, value: float, low: float | None, high: float | None) -> None:
    if low is not None and value < low:
        raise SettingsError(f"{name}={value} must be at least {low}")
    if high is not None and value > high:
        raise SettingsError(f"{name}={value} must be at most {high}")
