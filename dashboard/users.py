"""Dashboard users from the command line.

    python -m dashboard.users add NAME --role lead|editor   # asks for the password twice
    python -m dashboard.users add NAME --role editor --password-stdin < file
    python -m dashboard.users passwd NAME [--password-stdin]
    python -m dashboard.users role NAME lead|editor
    python -m dashboard.users remove NAME
    python -m dashboard.users list

Passwords are stored as salted scrypt hashes (dashboard/auth.py); a changed password or role
ends that user's open sessions.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from analytics.db import get_engine
from analytics.migrate import upgrade
from analytics.settings import AnalyticsError, AnalyticsSettings
from dashboard.auth import ROLES, UserError, UserStore


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise UserError("the two passwords differ")
    return first


def _store() -> UserStore:
    settings = AnalyticsSettings.from_env()
    upgrade(settings.database_url)
    return UserStore(get_engine(settings))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboard.users",
                                     description="Manage the dashboard's users.")
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true")
    passwd = sub.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    role = sub.add_parser("role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=ROLES)
    remove = sub.add_parser("remove", help="delete a user")
    remove.add_argument("name")
    sub.add_parser("list", help="list the users and their roles")
    args = parser.parse_args(argv)
    try:
        users = _store()
        if args.command == "add":
            users.add(args.name, args.role, _password(args.password_stdin))
            print(f"user {args.name} added with role {args.role}")
        elif args.command == "passwd":
            users.set_password(args.name, _password(args.password_stdin))
            print(f"password of {args.name} changed")
        elif args.command == "role":
            users.set_role(args.name, args.role)
            print(f"{args.name} is now {args.role}")
        elif args.command == "remove":
            users.remove(args.name)
            print(f"user {args.name} removed")
        else:
            for user in users.all():
                print(f"{user.name}\t{user.role}")
    except (UserError, AnalyticsError) as exc:
        print(f"dashboard users: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
