"""The customer channels of the Rasa server: REST and socket.io, open to the public, with limits.

Both keep Rasa's names (`rest`, `socketio`) and URLs (`/webhooks/rest/webhook`, `/socket.io`), so
clients, the widget and `output_channel=socketio|latest` work as before. What they add:

- message limits per conversation and per client address (`rasa_addons.ratelimit`; shared by
  every Rasa server through Redis when REDIS_URL is set). Over a limit, REST answers 429 with
  `Retry-After` and the polite message as the one bot reply; socket.io sends the polite message
  to the widget. The message does not reach Rasa.
- every user message gets metadata `client` (a keyed hash of the client address, never the
  address: rasa_addons.ratelimit) and, from the widget, `language` (its page language). Other
  metadata from the client is dropped: a client cannot set `client` itself.
- internal traffic (the demo-data generator, the benches) sends Rasa's API token as
  `Authorization: Bearer <RASA_TOKEN>` on REST: it spends no customer limit and is one client of
  its own ("internal"); a wrong token gets 401. Customers send no Authorization header.
- junk is refused politely: REST answers 400 with `{"error": ...}` for a body that is not a JSON
  object, a missing or non-text sender or message, or a message over MAX_MESSAGE_CHARS; socket.io
  ignores such events. No 5xx, no traceback, no customer text in the logs.
- socket.io only accepts the origins Rasa's CORS accepts (`rasa run --cors ...`, which `make run`
  sets to WEB_ORIGINS; WEB_ORIGINS itself when Rasa runs without --cors), and the room join that
  Rasa 3.6 forgets to await with python-socketio 5.x is awaited (session persistence works).

credentials.yml:

    rasa_addons.channels.RestChannel:
    rasa_addons.channels.SocketIOChannel:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import uuid
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    UserMessage,
    decode_bearer_token,
)
from rasa.core.channels.rest import RestInput
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from nordvik.languages import normalize_language
from rasa_addons import replay
from rasa_addons.action_server import token_matches
from rasa_addons.messages import slow_down
from rasa_addons.ratelimit import (
    ALLOWED,
    Decision,
    Limit,
    RateLimiter,
    client_address,
    client_pseudonym,
    create_limiter,
    message_language,
)
from rasa_addons.settings import ChannelSettings

logger = logging.getLogger(__name__)
INTERNAL_CLIENT = "internal"  # the one client of internal traffic (its own verification limits)

_CONTROL = {chr(c) for c in range(32)} | {"\x7f"}
_SERVED: dict[tuple[int, str | None], SocketIOChannel] = {}


class InvalidToken(ValueError):
    """A REST message with an Authorization header that is not Rasa's API token."""


class InvalidMessage(ValueError):
    """A customer message the channel refuses (the text says why, without echoing it)."""


def clean_sender(value: object, max_chars: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessage("'sender' must be a non-empty string (the conversation id)")
    sender = value.strip()
    if len(sender) > max_chars:
        raise InvalidMessage(f"'sender' must be at most {max_chars} characters")
    if any(ch in _CONTROL for ch in sender):
        raise InvalidMessage("'sender' must not contain control characters")
    return sender


def clean_text(value: object, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidMessage("'message' must be a string")
    if len(value) > max_chars:
        raise InvalidMessage(f"'message' must be at most {max_chars} characters")
    return value.replace("\x00", "")


def language_hint(*sources: object) -> str | None:
    """The page language the client sent (widget customData / metadata) as one of the four
    languages (en, sv, nb, zh), or None when it sent none or another one."""
    for source in sources:
        if isinstance(source, dict):
            language = normalize_language(source.get("language"))
            if language:
                return language
    return None


def rasa_cors_origins(app: Any) -> str | list[str] | None:
    """The origins Rasa was started with (`rasa run --cors ...`), or None without --cors.

    socket.io checks origins itself (browsers do not apply CORS to WebSockets), so it takes the
    same list; without --cors it keeps WEB_ORIGINS.
    """
    try:
        resources = app.ctx.sanic_cors._options["resources"]
        origins = next(iter(resources.values()))["origins"]
    except (AttributeError, KeyError, TypeError, StopIteration):
        return None
    if isinstance(origins, str):
        origins = [origins] if origins else []
    if not origins:
        return None
    return "*" if "*" in origins else [str(o) for o in origins]


class _Limits:
    """The two message limits of a channel, checked together."""

    def __init__(self, settings: ChannelSettings, limiter: RateLimiter | None = None) -> None:
        self.settings = settings
        self.limiter = limiter or create_limiter(settings)

    async def check(self, sender: str, client: str) -> Decision:
        s = self.settings
        return await self.limiter.hit([
            Limit("session", sender, s.session_messages, s.session_seconds),
            Limit("client", client, s.client_messages, s.client_seconds),
        ])


class RestChannel(RestInput):
    """Rasa's REST channel (`/webhooks/rest/webhook`) with limits, validation and metadata."""

    def __init__(self, settings: ChannelSettings | None = None,
                 limiter: RateLimiter | None = None) -> None:
        self.settings = settings or ChannelSettings.from_env()
        self.limits = _Limits(self.settings, limiter)

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def _client(self, request: Request) -> str:
        return client_pseudonym(client_address(request))

    def _internal(self, request: Request) -> bool:
        """Whether the message is internal traffic: it carries Rasa's API token as a bearer
        token. No Authorization header: a customer. A wrong token: InvalidToken."""
        header = request.headers.get("authorization")
        if header is None:
            return False
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token_matches(token.strip(),
                                                           self.settings.internal_token):
            raise InvalidToken("the Authorization header does not hold a valid bearer token; "
                               "customers send none")
        return True

    def _parse(self, request: Request) -> tuple[str, str, str | None]:
        try:
            body = json.loads(request.body or b"")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidMessage("the body must be a JSON object with 'sender' and 'message'") \
                from exc
        if not isinstance(body, dict):
            raise InvalidMessage("the body must be a JSON object with 'sender' and 'message'")
        sender = clean_sender(body.get("sender"), self.settings.max_sender_chars)
        text = clean_text(body.get("message"), self.settings.max_message_chars)
        return sender, text, language_hint(body.get("metadata"))

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, text, hinted = self._parse(request)
                internal = self._internal(request)
            except InvalidMessage as exc:
                return response.json({"error": str(exc)}, status=400)
            except InvalidToken as exc:
                return response.json({"error": str(exc)}, status=401)
            client = client_pseudonym(INTERNAL_CLIENT) if internal else self._client(request)
            decision = ALLOWED if internal else await self.limits.check(sender, client)
            if not decision.allowed:
                logger.info("REST message refused: %s limit reached", decision.scope)
                retry = max(1, math.ceil(decision.retry_after))
                polite = slow_down(message_language(text, hinted))
                reply = [{"recipient_id": sender, "text": polite}]
                return response.json(reply, status=429, headers={"Retry-After": str(retry)})
            metadata: dict[str, Any] = {"client": client}
            if hinted:
                metadata["language"] = hinted
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, sender, input_channel=self.name(),
                                                 metadata=metadata))
            except CancelledError:
                logger.error("REST message timed out in conversation %s", sender)
            except Exception as exc:  # Rasa failed; the customer still gets what was said
                logger.error("REST message failed in conversation %s: %s", sender,
                             type(exc).__name__, exc_info=logger.isEnabledFor(logging.DEBUG))
            return response.json(collector.messages)

        return webhook


def _socketio_server(**options: Any) -> Any:
    """A socket.io server whose engine checks origins but can leave the CORS headers to Rasa.

    With `rasa run --cors ...` sanic-cors already sets Access-Control-Allow-Origin on every
    response, the socket.io paths included; engine.io setting it a second time makes browsers
    refuse the polling transport, and the widget never connects. The origin check itself stays
    with engine.io, since browsers apply no CORS to WebSockets.
    """
    class OriginCheckingEngine(engineio.AsyncServer):  # type: ignore[misc]
        cors_headers_from_rasa = False

        def _cors_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
            if self.cors_headers_from_rasa:
                return []
            return list(super()._cors_headers(environ))

    class Server(socketio.AsyncServer):  # type: ignore[misc]
        def _engineio_server_class(self) -> type:
            return OriginCheckingEngine

    return Server(**options)


class SocketIOChannel(SocketIOInput):
    """Rasa's socket.io channel for the widget, with origins, limits, metadata and the room fix."""

    def __init__(self, *args: Any, settings: ChannelSettings | None = None,
                 limiter: RateLimiter | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings or ChannelSettings.from_env()
        self.limits = _Limits(self.settings, limiter)
        self._clients: dict[str, str] = {}  # socket id -> client pseudonym
        self._sessions: dict[str, str] = {}  # socket id -> conversation (for the replay)
        self.widgets = replay.widget_state(self.settings.redis_url,
                                           self.settings.rate_limit_prefix)

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def get_output_channel(self) -> Any:
        """The output for trigger_intent (agent replies): it keeps what an absent widget missed."""
        if self.sio is None:
            return super().get_output_channel()
        return replay.ReplayingOutput(self.sio, self.bot_message_evt, self.widgets)

    def _cors(self) -> str | list[str]:
        origins = list(self.settings.web_origins)
        return "*" if "*" in origins else origins

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # Listed twice in one credentials file (e.g. also under its old name
        # web.rasa_channel.WidgetSocketIOInput): the first entry serves the path, later ones
        # share its server instead of failing on a duplicate route.
        served = _SERVED.get((id(on_new_message), self.socketio_path))
        if served is not None and served is not self:
            logger.warning("socket.io channel listed twice for %s; serving it once",
                           self.socketio_path)
            self.sio = served.sio  # type: ignore[has-type]
            self.widgets = served.widgets  # one view of the widgets per server
            return Blueprint(f"socketio_duplicate_{id(self)}", __name__)
        _SERVED[(id(on_new_message), self.socketio_path)] = self
        sio = _socketio_server(async_mode="sanic", cors_allowed_origins=self._cors(),
                          client_manager=replay.client_manager(self.settings.redis_url),
                          ping_interval=replay.PING_INTERVAL_SECONDS,
                          ping_timeout=replay.PING_TIMEOUT_SECONDS)
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @socketio_webhook.listener("before_server_start")
        async def same_origins_as_rasa(app: Any, _loop: Any) -> None:
            origins = rasa_cors_origins(app)
            if origins is not None:
                sio.eio.cors_allowed_origins = origins
                sio.eio.cors_headers_from_rasa = True  # sanic-cors sets them

        async def connect(sid: str, environ: dict[str, Any], auth: dict[str, Any] | None) -> bool:
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                if not token or not decode_bearer_token(token, self.jwt_key, self.jwt_algorithm):
                    return False
            self._clients[sid] = client_pseudonym(client_address(environ.get("sanic.request")))
            return True

        async def disconnect(sid: str) -> None:
            self._clients.pop(sid, None)
            conversation = self._sessions.pop(sid, None)
            if conversation is not None:
                try:
                    await self.widgets.disconnected(conversation, sid)
                except Exception:  # noqa: BLE001 - the widget state is best effort
                    logger.warning("widget state unavailable on disconnect", exc_info=True)

        async def session_request(sid: str, data: Any = None) -> None:
            session_id = data.get("session_id") if isinstance(data, dict) else None
            try:
                session_id = clean_sender(session_id, self.settings.max_sender_chars)
            except InvalidMessage:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                joined = sio.enter_room(sid, session_id, namespace=namespace)
                if inspect.isawaitable(joined):
                    await joined
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            if self.session_persistence:  # what the widget missed while it was away
                self._sessions[sid] = session_id
                await replay.replay(sio, self.widgets, session_id, sid, self.bot_message_evt,
                                    namespace)

        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                return
            try:
                text = clean_text(data.get("message"), self.settings.max_message_chars)
                sender = (clean_sender(data.get("session_id"), self.settings.max_sender_chars)
                          if self.session_persistence else sid)
            except InvalidMessage as exc:
                logger.debug("socket.io message ignored: %s", exc)
                return
            hinted = language_hint(data.get("customData"), data.get(self.metadata_key))
            client = self._clients.get(sid) or client_pseudonym("unknown")
            decision = await self.limits.check(sender, client)
            output = replay.ReplayingOutput(sio, self.bot_message_evt, self.widgets)
            if not decision.allowed:
                logger.info("socket.io message refused: %s limit reached", decision.scope)
                await sio.emit(self.bot_message_evt,
                               {"text": slow_down(message_language(text, hinted))},
                               room=sid, namespace=namespace)
                return
            metadata: dict[str, Any] = {"client": client}
            if hinted:
                metadata["language"] = hinted
            try:
                await on_new_message(UserMessage(text, output, sender, input_channel=self.name(),
                                                 metadata=metadata))
            except Exception as exc:  # Rasa failed; the widget stays connected
                logger.error("socket.io message failed in conversation %s: %s", sender,
                             type(exc).__name__, exc_info=logger.isEnabledFor(logging.DEBUG))

        sio.on("connect", connect, namespace=namespace)
        sio.on("disconnect", disconnect, namespace=namespace)
        sio.on("session_request", session_request, namespace=namespace)
        sio.on(self.user_message_evt, handle_message, namespace=namespace)
        return socketio_webhook
