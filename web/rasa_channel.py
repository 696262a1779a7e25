"""Rasa's socket.io input channel for the web widget, with working session persistence.

Rasa 3.6's `SocketIOInput` calls `sio.enter_room(...)` without awaiting it, and in the
python-socketio 5.x that our lock file pins, `AsyncServer.enter_room` is a coroutine: the socket
never joins the room named after its session id. Every bot message (which Rasa emits to that
room) is then lost, including agent replies sent with `trigger_intent?output_channel=socketio`.

This subclass keeps everything else of Rasa's channel (its name stays `socketio`, so
`output_channel=socketio|latest` still resolves to it) and only replaces the `session_request`
handler with one that awaits the join. Use it in credentials.yml:

    web.rasa_channel.WidgetSocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint

logger = logging.getLogger(__name__)


class WidgetSocketIOInput(SocketIOInput):
    """`socketio` with an awaited room join, so session persistence delivers bot messages."""

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        socketio_webhook = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None  # set by SocketIOInput.blueprint

        async def session_request(sid: str, data: dict[str, Any] | None) -> None:
            data = dict(data or {})
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id.strip():
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=self.namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)
            logger.debug("socket.io session confirmed")

        sio.on("session_request", session_request, namespace=self.namespace)
        return socketio_webhook
