"""Dashboard users: roles, salted scrypt password hashes, and login throttling.

Roles: `lead` (team lead: KPIs, plots, CSV export, conversations, review, content) and `editor`
(knowledge editor: content gaps and stale articles, conversations and review).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from analytics import db
from dashboard.settings import DashboardError

ROLES = db.ROLES
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,63}")
# scrypt: 16 MiB and about 50 ms per hash on this machine's cores
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32


class UserError(DashboardError):
    """A user that cannot be created or changed (bad name, role or password; exists; missing)."""


@dataclass(frozen=True)
class User:
    name: str
    role: str
    updated_at: float


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$key`, with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                         p=SCRYPT_P, dklen=KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError("a user name is 2-64 letters, digits, dots, dashes or underscores, "
                        "starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise UserError(f"a password has at most {MAX_PASSWORD_CHARS} characters")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


class UserStore:
    """The dashboard's users in the analytics database (table analytics_users)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, name: str, role: str, password: str) -> User:
        check_name(name)
        check_role(role)
        hashed = hash_password(check_password(password))
        now = time.time()
        try:
            with db.transaction(self.engine, write=True) as conn:
                conn.execute(insert(db.users).values(name=name, role=role, password_hash=hashed,
                                                     created_at=now, updated_at=now))
        except IntegrityError as exc:
            raise UserError(f"a user named {name!r} exists already") from exc
        return User(name, role, now)

    def set_password(self, name: str, password: str) -> None:
        self._update(name, password_hash=hash_password(check_password(password)))

    def set_role(self, name: str, role: str) -> None:
        self._update(name, role=check_role(role))

    def _update(self, name: str, **values: object) -> None:
        with db.transaction(self.engine, write=True) as conn:
            changed = conn.execute(update(db.users).where(db.users.c.name == name).values(
                updated_at=time.time(), **values)).rowcount
        if not changed:
            raise UserError(f"no user named {name!r}")

    def remove(self, name: str) -> None:
        with db.transaction(self.engine, write=True) as conn:
            if not conn.execute(delete(db.users).where(db.users.c.name == name)).rowcount:
                raise UserError(f"no user named {name!r}")

    def get(self, name: str) -> User | None:
        with db.transaction(self.engine) as conn:
            row = conn.execute(select(db.users.c.name, db.users.c.role, db.users.c.updated_at)
                               .where(db.users.c.name == name)).first()
        return User(row.name, row.role, float(row.updated_at)) if row else None

    def all(self) -> list[User]:
        with db.transaction(self.engine) as conn:
            rows = conn.execute(select(db.users.c.name, db.users.c.role, db.users.c.updated_at)
                                .order_by(db.users.c.name)).all()
        return [User(r.name, r.role, float(r.updated_at)) for r in rows]

    def count(self) -> int:
        return len(self.all())

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right; None otherwise (same work either way)."""
        with db.transaction(self.engine) as conn:
            row = conn.execute(select(db.users).where(db.users.c.name == name)).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        ok = verify_password(password[:MAX_PASSWORD_CHARS], stored)
        if row is None or not ok:
            return None
        return User(row.name, row.role, float(row.updated_at))


class LoginThrottle:
    """At most `max_failures` failed logins per account and per client address in `window_s`;
    then that account or address waits until the oldest failure leaves the window."""

    def __init__(self, max_failures: int = 5, window_s: float = 900.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        return entries

    def retry_after(self, name: str, client: str, now: float | None = None) -> float:
        """Seconds until a login for this account from this address may be tried; 0: now."""
        now = time.time() if now is None else now
        wait = 0.0
        with self._lock:
            for key in (f"user:{name.lower()}", f"addr:{client}"):
                entries = self._recent(key, now)
                if len(entries) >= self.max_failures:
                    wait = max(wait, entries[0] + self.window_s - now)
        return wait

    def failed(self, name: str, client: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self._lock:
            for key in (f"user:{name.lower()}", f"addr:{client}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name.lower()}", None)
