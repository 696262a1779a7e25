"""Rasa's HTTP API token is compared in constant time once rasa_addons.rasa_server patches it."""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import rasa.server
from rasa.server import ErrorResponse
from sanic import Sanic

from rasa_addons import action_server, rasa_server
from rasa_addons.rasa_server import SecretToken, constant_time_token_check


def test_a_secret_token_equals_only_the_same_text() -> None:
    token = SecretToken("s3cret-token")
    # the operands in Rasa's order: `provided == token`
    for provided, equal in (("s3cret-token", True), ("s3cret-tokeX", False), ("", False),
                            ("s3cret", False), (None, False)):
        assert (provided == token) is equal
        assert (provided != token) is not equal
    assert token == "s3cret-token"
    assert hash(token) == hash("s3cret-token")
    assert {token: 1}["s3cret-token"] == 1


def test_rasa_checks_the_api_token_through_compare_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(rasa.server, "requires_auth", rasa.server.requires_auth)  # undone after
    constant_time_token_check()
    constant_time_token_check()  # idempotent: one wrapper, not two
    assert getattr(rasa.server.requires_auth, "_nordvik_constant_time", False)

    compared: list[tuple[bytes, bytes]] = []
    real = action_server.hmac.compare_digest

    def counting(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(action_server.hmac, "compare_digest", counting)
    app = Sanic(f"token-check-{id(compared)}")

    async def handler(request: Any) -> str:
        return "ok"

    guarded = rasa.server.requires_auth(app, "s3cret-token")(handler)

    def call(token: str | None) -> Any:
        request = SimpleNamespace(args={} if token is None else {"token": token}, app=app)
        return asyncio.run(guarded(request))

    assert call("s3cret-token") == "ok"
    for wrong in ("s3cret-tokeX", "x", None):
        with pytest.raises(ErrorResponse) as error:
            call(wrong)
        assert error.value.status == 401
    assert (b"s3cret-tokeX", b"s3cret-token") in compared
    assert (b"s3cret-token", b"s3cret-token") in compared


def test_the_launcher_patches_rasa_before_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # main() sets Rasa's argv
    monkeypatch.setattr(rasa_server, "constant_time_token_check", lambda: calls.append("patch"))
    monkeypatch.setattr("runtime.rasa_speedups.install", lambda: calls.append("validator"))
    monkeypatch.setattr("runtime.rasa_speedups.install_local_actions",
                        lambda: calls.append("local actions"))
    monkeypatch.setattr("runtime.rasa_speedups.install_kept_connections",
                        lambda: calls.append("kept connections"))
    monkeypatch.setattr(rasa_server, "secret_arguments", lambda: ["--auth-token=t"])
    monkeypatch.setattr("rasa.__main__.main", lambda: calls.append("rasa"))
    rasa_server.main(["run", "--enable-api"])
    assert calls == ["validator", "local actions", "kept connections", "patch", "rasa"]
