"""The real stack for the handoff and browser tests: action server + Rasa server on loopback.

Both run as subprocesses on free ephemeral ports, against a store and a tracker database in the
test's tmp_path; Slack is the local fake Web API. The Rasa server can be stopped and started
again (same model, same tracker store) to test that a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio

from tests.support.rasa_stack import free_port

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def trained_model() -> Path:
    """The project's model, trained (niced, once, under a lock) when its inputs changed.

    NORDVIK_TEST_MODEL names an already trained model instead (for quick local runs).
    """
    given = os.environ.get("NORDVIK_TEST_MODEL")
    if given:
        return Path(given)
    from scripts.train import ensure_model

    return Path(ensure_model(quiet=True).model)


def wait_http(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None,
              log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise RuntimeError(f"{url}: the process exited with {process.returncode}\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as error:
            if error.code in (401, 403):  # waiting longer will not help
                raise RuntimeError(f"{url}: {error.code} {error.reason}") from error
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    model: Path
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @classmethod
    def create(cls, tmp: Path, extra_env: dict[str, str]) -> Stack:
        model = trained_model()
        env = {**os.environ, **extra_env, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "TRACKER_DB": str(tmp / "tracker.db"), "PYTHONPATH": str(ROOT),
               # the HTTP API's and the action server's secrets, as make run has them (the
               # relay in the Slack app reads RASA_TOKEN)
               "RASA_TOKEN": secrets.token_urlsafe(32),
               "ACTION_SERVER_TOKEN": secrets.token_urlsafe(32), "ACTION_HOST": "127.0.0.1",
               "RATE_CLIENT_MESSAGES": "0"}
        env.pop("REDIS_URL", None)
        stack = cls(tmp=tmp, env=env, model=model)
        env["ACTION_PORT"] = str(stack.action_port)
        env["RASA_PORT"] = str(stack.rasa_port)
        env["RASA_URL"] = stack.rasa_url
        return stack

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = self.tmp / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 (kept open for the process's lifetime)
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=handle,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes[name] = process
        return process

    def start_actions(self) -> None:
        from scripts.rasa_env import action_server_argv

        process = self._spawn("actions", action_server_argv(self.action_port))
        wait_http(f"http://127.0.0.1:{self.action_port}/health", 120, process,
                  self.tmp / "actions.log")

    def start_rasa(self) -> None:
        from scripts.rasa_env import rasa_server_argv, write_endpoints

        endpoints = write_endpoints(self.env, self.tmp / "endpoints.yml")
        process = self._spawn("rasa", rasa_server_argv(
            self.env, port=self.rasa_port, interface="127.0.0.1", model=self.model,
            endpoints=endpoints))
        # /status is behind the HTTP API's token, like every endpoint but the channels
        token = urllib.parse.quote(self.env["RASA_TOKEN"])
        wait_http(f"{self.rasa_url}/status?token={token}", 300, process, self.tmp / "rasa.log")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def tracker(self, conversation_id: str) -> dict[str, Any]:
        url = (f"{self.rasa_url}/conversations/{conversation_id}/tracker"
               f"?token={urllib.parse.quote(self.env['RASA_TOKEN'])}")
        with urllib.request.urlopen(url, timeout=10) as response:
            return dict(json.loads(response.read()))


class WidgetClient:
    """What rasa-webchat does on the wire: a socket.io client with a persistent session id."""

    def __init__(self, url: str, session_id: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.session_id = session_id
        self.headers = headers or {}  # e.g. X-Forwarded-For, as the trusted proxy sets it
        self.received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed = asyncio.Event()
        self.sio = self._client()

    def _client(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        client.on("bot_uttered", self._on_bot)
        client.on("session_confirm", self._on_confirm)
        return client

    async def _on_bot(self, data: dict[str, Any]) -> None:
        await self.received.put(data)

    async def _on_confirm(self, data: Any) -> None:
        self.confirmed.set()

    async def connect(self) -> None:
        """Open the socket and ask for the session, as the widget does on load."""
        await self.open()
        await self.request_session()

    async def open(self) -> None:
        self.confirmed.clear()
        await self.sio.connect(self.url, socketio_path="/socket.io", transports=["polling"],
                               headers=self.headers)

    async def request_session(self) -> None:
        await self.sio.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(self.confirmed.wait(), 20)

    async def disconnect(self) -> None:
        """Leave as a closed tab does: the goodbye (socket.io DISCONNECT, engine.io CLOSE) is
        sent and the server has handled it when this returns, and the next `connect` opens a new
        socket. What is not waited for is the long poll the server holds open: python-engineio's
        server answers it only with its next ping (up to 25 s after a CLOSE), which a browser
        leaving the page never waits for either."""
        client = self.sio
        if not client.connected:
            return
        self.sio = self._client()
        writer = client.eio.write_loop_task
        leaving = asyncio.ensure_future(client.disconnect())
        if writer is not None:  # ends once it has POSTed the goodbye and had the server's answer
            await asyncio.wait_for(asyncio.shield(writer), 20)
        else:  # already gone
            await asyncio.wait_for(asyncio.shield(leaving), 20)
        leaving.cancel()  # and with it the held poll
        with contextlib.suppress(asyncio.CancelledError):
            await leaving
        if client.eio.http is not None and not client.eio.http.closed:
            await client.eio.http.close()

    async def say(self, text: str, language: str = "en") -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id,
                                             "customData": {"language": language}})

    async def next_message(self, timeout: float = 60.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def messages_until(self, predicate: Any, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Collect bot messages until one satisfies predicate (which is included)."""
        collected: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching bot message within {timeout}s: {collected}")
            message = await self.next_message(remaining)
            collected.append(message)
            if predicate(message):
                return collected

    async def quiet_for(self, seconds: float) -> list[dict[str, Any]]:
        """Whatever the bot says within `seconds` (the handoff tests expect nothing)."""
        said: list[dict[str, Any]] = []
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                said.append(await asyncio.wait_for(self.received.get(), remaining))
            except asyncio.TimeoutError:
                break
        return said
