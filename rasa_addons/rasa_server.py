"""`rasa` with the HTTP API's secrets added from nordvik.secrets, not from the command line.

    python -m rasa_addons.rasa_server run --enable-api --port 5005 ...
    python -m rasa_addons.rasa_server train ...   (scripts/train.py; runtime.rasa_speedups)

Adds `--auth-token <RASA_TOKEN>` (from the environment, else generated once into
var/secrets/rasa_token) and, when RASA_JWT_SECRET is set, `--jwt-secret` (HS256), then runs
Rasa's own command line. The secrets never appear in the process list (`ps`), which shows the
command line this process was started with, not the arguments added here.

Rasa 3.6 checks `?token=` with `provided == token`, which stops at the first differing character.
`constant_time_token_check()` (called before Rasa starts) hands Rasa the token as a `str` whose
comparison is hmac.compare_digest, so how long a rejection takes says nothing about the token.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nordvik.env import env_str
from nordvik.secrets import rasa_api_token
from rasa_addons.action_server import token_matches

_PATCHED = "_nordvik_constant_time"


def secret_arguments(env: Mapping[str, str] | None = None) -> list[str]:
    # One "--name=value" argument each: a secret may start with "-" (token_urlsafe), which
    # argparse would take for an option after a separate "--auth-token".
    extra = [f"--auth-token={rasa_api_token(env)}"]
    jwt_secret = env_str(env, "RASA_JWT_SECRET")
    if jwt_secret:
        extra += [f"--jwt-secret={jwt_secret}", "--jwt-method", "HS256"]
    return extra


class SecretToken(str):
    """A token that compares in constant time. Rasa writes `provided == token`; Python asks the
    right-hand operand first when its type is a subclass of the left one's, so this `__eq__`
    decides."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and token_matches(other, str(self))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


def constant_time_token_check() -> None:
    """Make rasa.server's `requires_auth` compare the API token in constant time (idempotent;
    before rasa.server.create_app runs)."""
    import rasa.server  # noqa: PLC0415 - heavy (Rasa, TF): the launcher loads it, not an import of this module

    original: Callable[..., Any] = rasa.server.requires_auth
    if getattr(original, _PATCHED, False):
        return

    def requires_auth(app: Any, token: str | None = None) -> Any:
        return original(app, SecretToken(token) if token is not None else None)

    setattr(requires_auth, _PATCHED, True)
    rasa.server.requires_auth = requires_auth  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a == "-t" or a.split("=", 1)[0] in ("--auth-token", "--jwt-secret") for a in args):
        raise SystemExit("rasa_addons.rasa_server: the secrets come from RASA_TOKEN / "
                         "RASA_JWT_SECRET or var/secrets, not from the command line")
    if args[:1] == ["run"] and args[1:2] != ["actions"]:
        args += secret_arguments()
        from runtime import rasa_speedups  # noqa: PLC0415 - heavy: imports Rasa and the actions

        rasa_speedups.install()  # one cached validator for action-server responses (same verdicts)
        rasa_speedups.install_local_actions()  # action_track_context, no round trip (same events)
        rasa_speedups.install_kept_connections()  # one kept connection pool to the action server
        constant_time_token_check()
    if args[:1] == ["train"]:
        from runtime import rasa_speedups  # noqa: PLC0415 - heavy: imports Rasa and the actions

        rasa_speedups.install_training()  # no fingerprints when the training cache is off
    from rasa.__main__ import main as rasa_main  # noqa: PLC0415 - heavy: Rasa's whole CLI

    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
