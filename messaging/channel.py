"""The Rasa input channels `whatsapp`, `messenger` and `line` (credentials.yml):

    messaging.channel.WhatsAppInput:     /webhooks/whatsapp/webhook
    messaging.channel.MessengerInput:    /webhooks/messenger/webhook (GET: the verify handshake)
    messaging.channel.LineInput:         /webhooks/line/webhook

Each one reads its secrets from the environment (messaging.settings); without them it is off:
its webhook answers 404 and `GET /webhooks/<name>/` says why. A request without the platform's
valid signature gets 403 and is counted (logged as a refusal, nothing of its body). A verified
request is answered once its messages are handled (messaging/turns.py); a body that is not the
platform's JSON or form gets 400.

For `POST /conversations/{id}/trigger_intent?output_channel=latest` (an agent's reply relayed
by the Slack app, the end of a handoff) Rasa asks `get_output_channel()`: the turn's messages
are collected and sent once the conversation's lock is free, inside the platform's reply window.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import Any, ClassVar

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request as SanicRequest
from sanic.response import HTTPResponse

from messaging.contacts import ContactStore, ContactStoreUnavailable
from messaging.line import LinePlatform
from messaging.messenger import MessengerPlatform
from messaging.platform import Platform, Request
from messaging.settings import MessagingSettings
from messaging.signatures import meta_verify_challenge
from messaging.turns import Conversations
from messaging.whatsapp import WhatsAppPlatform
from rasa_addons.ratelimit import Limit, create_limiter
from rasa_addons.settings import ChannelSettings
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.05
NO_AGENT_WAIT_SECONDS = 2.0
MAX_EVENTS_PER_REQUEST = 20
MAX_BODY_BYTES = 1_000_000


class DeferredOutput(OutputChannel):
    """Collects a turn Rasa runs on its own and sends it once the turn is over."""

    _pending: ClassVar[set[asyncio.Task[None]]] = set()

    def __init__(self, channel: MessagingInput) -> None:
        self.channel = channel
        self.messages: list[dict[str, Any]] = []
        self._scheduled = False

    @classmethod
    def name(cls) -> str:
        return "messaging"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))
        self._schedule(recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.messages.append({"text": text})
        self._schedule(recipient_id)

    def _schedule(self, conversation: str) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        task = asyncio.get_running_loop().create_task(self._after_turn(conversation))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _after_turn(self, conversation: str) -> None:
        try:
            agent = self.channel.agent
            if agent is not None:
                async with agent.lock_store.lock(conversation,
                                                 wait_time_in_seconds=LOCK_POLL_SECONDS):
                    pass  # the turn holds the lock until its last message is collected
            else:
                await asyncio.sleep(NO_AGENT_WAIT_SECONDS)
            await self.channel.conversations.deliver_later(agent, conversation, self.messages)
        except Exception:  # a background task: log it, never lose it silently
            logger.exception("reply of conversation %s could not be sent", conversation)


class MessagingInput(InputChannel):
    """A messaging platform's webhook, and the platform as the output channel."""

    platform_class: ClassVar[type[Platform]]

    @classmethod
    def name(cls) -> str:
        return cls.platform_class.name

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def __init__(self, settings: MessagingSettings | None = None) -> None:
        self.settings = settings or MessagingSettings.from_env()
        self.platform = self.platform_class(self.settings)
        self.off_reason = self.settings.off_reason(self.name())
        self._app: Any = None

    @property
    def agent(self) -> Any:
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    @cached_property
    def conversations(self) -> Conversations:
        limits = ChannelSettings.from_env()
        return Conversations(
            self.platform, ContactStore(StoreSettings.from_env().database_url),
            Limit("session", "-", limits.session_messages, limits.session_seconds),
            create_limiter(limits))

    def get_output_channel(self) -> OutputChannel | None:
        return DeferredOutput(self)

    def handshake(self, query: dict[str, str]) -> HTTPResponse:
        return response.json({"error": "not found"}, status=404)

    @staticmethod
    def request_of(request: SanicRequest) -> Request:
        body = bytes(request.body or b"")
        headers = {str(k).lower(): str(v) for k, v in request.headers.items()}
        form: dict[str, str] = {}
        if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                               keep_blank_values=True))
        return Request(url=request.url, body=body, headers=headers, form=form)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        name = self.name()

        @webhook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self._app = app

        @webhook.route("/", methods=["GET"])
        async def health(_: SanicRequest) -> HTTPResponse:
            if self.off_reason:
                return response.json({"status": "off", "reason": self.off_reason})
            return response.json({"status": "ok"})

        if self.off_reason:
            logger.info("%s channel off: %s", name, self.off_reason)
            return webhook

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: SanicRequest) -> HTTPResponse:
            query = {key: str(value) for key, value in request.query_args}
            return self.handshake(query)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: SanicRequest) -> HTTPResponse:
            self._app = request.app
            if len(request.body or b"") > MAX_BODY_BYTES:
                return response.json({"error": "body too large"}, status=413)
            incoming = self.request_of(request)
            if not self.platform.verified(incoming):
                logger.warning("%s webhook refused: missing or invalid signature", name)
                return response.json({"error": "invalid signature"}, status=403)
            try:
                items = self.platform.inbound(incoming)
            except (ValueError, TypeError, AttributeError):
                return response.json({"error": "not a webhook body"}, status=400)
            agent = self.agent
            if items and (agent is None or not agent.is_ready()):
                return response.json({"error": "no model loaded yet"}, status=503)
            for item in items[:MAX_EVENTS_PER_REQUEST]:
                try:
                    await self.conversations.handle(agent, item, on_new_message)
                except ContactStoreUnavailable as exc:  # nothing noted yet: the platform retries
                    logger.error("%s webhook not processed: %s", name, exc)
                    return response.json({"error": "a database is unavailable"}, status=503)
                except Exception as exc:  # noqa: BLE001 - Rasa failed; a retry would be a repeat
                    logger.error("%s message failed: %s", name, type(exc).__name__,
                                 exc_info=logger.isEnabledFor(logging.DEBUG))
            body, content_type = self.platform.webhook_answer()
            return response.text(body, content_type=content_type)

        return webhook


class WhatsAppInput(MessagingInput):
    platform_class = WhatsAppPlatform


class MessengerInput(MessagingInput):
    platform_class = MessengerPlatform

    def handshake(self, query: dict[str, str]) -> HTTPResponse:
        challenge = meta_verify_challenge(query, self.settings.messenger_verify_token)
        if challenge is None:
            logger.warning("messenger verify handshake refused")
            return response.json({"error": "verification failed"}, status=403)
        return response.text(challenge)


class LineInput(MessagingInput):
    platform_class = LinePlatform
