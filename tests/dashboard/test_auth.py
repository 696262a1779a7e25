"""Password hashing, users and their CLI, login throttling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from analytics import db
from dashboard.auth import LoginThrottle, UserError, UserStore, hash_password, verify_password

ROOT = Path(__file__).resolve().parents[2]


def test_hashes_are_salted_and_verify() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsE", first)
    assert not verify_password("x", "plain-text-password")
    assert not verify_password("x", "scrypt$1$2$3$!!$??")


def test_users_are_stored_hashed(engine: Engine) -> None:
    users = UserStore(engine)
    users.add("ida", "editor", "ida-password-1")
    with db.transaction(engine) as conn:
        stored = conn.execute(select(db.users.c.password_hash).where(
            db.users.c.name == "ida")).scalar()
    assert stored and "ida-password-1" not in stored
    assert users.authenticate("ida", "ida-password-1") is not None
    assert users.authenticate("ida", "wrong-password") is None
    assert users.authenticate("nobody", "ida-password-1") is None


@pytest.mark.parametrize(("name", "role", "password", "message"), [
    ("a", "lead", "long-enough-pw", "user name"),
    ("bad name", "lead", "long-enough-pw", "user name"),
    ("ok", "admin", "long-enough-pw", "role"),
    ("ok", "lead", "short", "at least"),
    ("lena", "lead", "long-enough-pw", "exists"),
])
def test_bad_users_are_refused_clearly(engine: Engine, name: str, role: str, password: str,
                                       message: str) -> None:
    with pytest.raises(UserError, match=message):
        UserStore(engine).add(name, role, password)


def test_changing_a_missing_user_is_refused(engine: Engine) -> None:
    with pytest.raises(UserError, match="no user"):
        UserStore(engine).set_password("ghost", "long-enough-pw")
    with pytest.raises(UserError, match="no user"):
        UserStore(engine).remove("ghost")


def test_throttle_per_account_and_per_address() -> None:
    throttle = LoginThrottle(max_failures=2, window_s=60)
    throttle.failed("Ann", "10.0.0.1", now=0)
    assert throttle.retry_after("ann", "10.0.0.2", now=1) == 0
    throttle.failed("ann", "10.0.0.2", now=1)
    assert throttle.retry_after("ann", "10.0.0.3", now=2) == pytest.approx(58)
    assert throttle.retry_after("bob", "10.0.0.3", now=2) == 0
    assert throttle.retry_after("ann", "10.0.0.3", now=61) == 0  # the first left the window
    for n in range(2):
        throttle.failed(f"user{n}", "10.9.9.9", now=100)
    assert throttle.retry_after("someone", "10.9.9.9", now=101) > 0  # one address, many names
    throttle.succeeded("ann")
    assert throttle.retry_after("ann", "10.0.0.3", now=2) == 0


def run_cli(args: list[str], env: dict[str, str],
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dashboard.users", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_the_users_cli(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "ANALYTICS_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"}
    added = run_cli(["add", "tove", "--role", "lead", "--password-stdin"], env,
                    "tove-password-1\n")
    assert added.returncode == 0, added.stderr
    assert "tove-password-1" not in added.stdout + added.stderr
    again = run_cli(["add", "tove", "--role", "editor", "--password-stdin"], env, "x" * 12)
    assert again.returncode == 1 and "exists" in again.stderr
    short = run_cli(["add", "uno", "--role", "editor", "--password-stdin"], env, "short\n")
    assert short.returncode == 1 and "at least" in short.stderr
    assert run_cli(["role", "tove", "editor"], env).returncode == 0
    listed = run_cli(["list"], env)
    assert listed.stdout.split() == ["tove", "editor"]
    assert run_cli(["remove", "tove"], env).returncode == 0
    assert run_cli(["list"], env).stdout == ""
