"""`rasa` with the HTTP API's secrets added from nordvik.secrets, not from the command line.

    python -m rasa_addons.rasa_server run --enable-api --port 5005 ...

Adds `--auth-token <RASA_TOKEN>` (from the environment, else generated once into
var/secrets/rasa_token) and, when RASA_JWT_SECRET is set, `--jwt-secret` (HS256), then runs
Rasa's own command line. The secrets never appear in the process list (`ps`), which shows the
command line this process was started with, not the arguments added here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence

from nordvik.env import env_str
from nordvik.secrets import secret


def api_token(env: Mapping[str, str] | None = None) -> str:
    """The token of Rasa's HTTP API (`?token=`): RASA_TOKEN, else var/secrets/rasa_token."""
    return secret("rasa_token", "RASA_TOKEN", env=env)


def secret_arguments(env: Mapping[str, str] | None = None) -> list[str]:
    # One "--name=value" argument each: a secret may start with "-" (token_urlsafe), which
    # argparse would take for an option after a separate "--auth-token".
    extra = [f"--auth-token={api_token(env)}"]
    jwt_secret = env_str(env, "RASA_JWT_SECRET")
    if jwt_secret:
        extra += [f"--jwt-secret={jwt_secret}", "--jwt-method", "HS256"]
    return extra


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a == "-t" or a.split("=", 1)[0] in ("--auth-token", "--jwt-secret") for a in args):
        raise SystemExit("rasa_addons.rasa_server: the secrets come from RASA_TOKEN / "
                         "RASA_JWT_SECRET or var/secrets, not from the command line")
    if args[:1] == ["run"] and args[1:2] != ["actions"]:
        args += secret_arguments()
        from runtime.rasa_speedups import install

        install()  # one cached validator for action-server responses (same verdicts)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
