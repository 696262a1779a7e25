"""The Rasa input channel `email` (credentials.yml: `mail.channel.EmailInput:`).

Inbound: the SMTP receiver (`python -m mail`, mail/receiver.py) stores each mail, then calls

    POST /webhooks/email/inbound     Authorization: Bearer <MAIL_WEBHOOK_TOKEN>
    {"mail_id", "message_id", "earlier_ids", "subject", "sender" (sealed), "client", "language",
     "text", "agent_text", "attachments", "problems", "details"}

and gets `{"outcome": ..., "conversation_id": ...}` once the mail's turn is done (mail/inbound.py:
a reply mailed, a person asked, or nothing). 401 without the secret, 400 for a body that is not a
mail, 503 while the Rasa model or a database is not ready (the receiver retries). The route is
not Rasa's token-protected HTTP API: it has its own secret, shared only with the receiver.

"Send it by e-mail" (an agent's reply a messaging app's window kept from the customer; the Slack
app calls it when the agent presses the button under the note, handoff/undelivered.py):

    POST /webhooks/email/undelivered     Authorization: Bearer <Rasa's API token>
    {"reply_id": 12, "agent": "U123"}  ->  {"outcome": "sent" | "queued" | ..., ...}

mail/undelivered.py sends it. 401 without the token, 400 for a bad body, 503 while the store is
unreachable, 502 when the mail could be neither sent nor kept in the outbox.

Outbound: for `POST /conversations/{id}/trigger_intent?output_channel=latest` (the Slack app
relaying an agent's reply, or closing the handoff) Rasa asks `get_output_channel()`. That
collects the turn's messages and, once the turn is over (the conversation's lock is free
again), sends them as ONE mail in the conversation's thread, in its language.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from mail.inbound import MailConversations
from mail.output import MailOutput, reply_case_id
from mail.payload import InvalidPayload, MailPayload
from mail.settings import MailSettings
from mail.spool import SpoolError
from mail.threads import ThreadStoreUnavailable
from mail.undelivered import InvalidRequest, UndeliveredMail, parse_request
from nordvik.secrets import rasa_api_token
from store.errors import StoreError

logger = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.05
NO_AGENT_WAIT_SECONDS = 2.0


class DeferredMailOutput(MailOutput):
    """For turns Rasa runs on its own (trigger_intent): one mail once the turn is over."""

    _pending: set[asyncio.Task[None]] = set()

    def __init__(self, channel: EmailInput) -> None:
        super().__init__()
        self.channel = channel
        self._scheduled = False

    async def collected(self, recipient_id: str) -> None:
        if self._scheduled:
            return
        self._scheduled = True
        task = asyncio.get_running_loop().create_task(self._send_after_turn(recipient_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_after_turn(self, conversation_id: str) -> None:
        try:
            agent = self.channel.agent
            if agent is not None:
                # The turn holds the conversation's lock until its last message is out.
                async with agent.lock_store.lock(conversation_id,
                                                 wait_time_in_seconds=LOCK_POLL_SECONDS):
                    tracker = await agent.tracker_store.retrieve(conversation_id)
                slots = tracker.current_slot_values() if tracker else {}
            else:  # no agent seen yet: give the turn a moment to finish
                await asyncio.sleep(NO_AGENT_WAIT_SECONDS)
                slots = {}
            language = slots.get("language")
            from_assistant = all(message.get("utter_action") for message in self.messages)
            case_id = reply_case_id(slots)
            await self.channel.conversations.send_reply(
                conversation_id, self.messages, language, from_assistant=from_assistant,
                case_id=case_id)
        except Exception:  # a background task: log it, never lose it silently
            logger.exception("reply of conversation %s could not be mailed", conversation_id)


class EmailInput(InputChannel):
    """The e-mail channel: the receiver's internal webhook, and mail as the output channel."""

    @classmethod
    def name(cls) -> str:
        return "email"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def __init__(self, settings: MailSettings | None = None) -> None:
        self._settings = settings
        self._conversations: MailConversations | None = None
        self._undelivered: UndeliveredMail | None = None
        self._app: Any = None
        self._agent: Any = None

    @property
    def agent(self) -> Any:
        """Rasa's agent, looked up when needed (it is loaded after the blueprints are made)."""
        found = getattr(getattr(self._app, "ctx", None), "agent", None)
        return found or self._agent

    @property
    def settings(self) -> MailSettings:
        if self._settings is None:
            self._settings = MailSettings.from_env()
        return self._settings

    @property
    def conversations(self) -> MailConversations:
        if self._conversations is None:
            self._conversations = MailConversations(self.settings)
        return self._conversations

    @property
    def undelivered(self) -> UndeliveredMail:
        if self._undelivered is None:
            self._undelivered = UndeliveredMail(self.settings)
        return self._undelivered

    def _authorized(self, request: Request, expected: str | None = None) -> bool:
        """The bearer is the receiver's secret (or `expected`, e.g. Rasa's API token)."""
        header = str(request.headers.get("Authorization") or "")
        scheme, _, token = header.partition(" ")
        expected = self.settings.webhook_token if expected is None else expected
        return (scheme.lower() == "bearer" and bool(token) and bool(expected)
                and hmac.compare_digest(token.strip().encode(), expected.encode()))

    def get_output_channel(self) -> OutputChannel | None:
        return DeferredMailOutput(self)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self._app = app

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/inbound", methods=["POST"])
        async def inbound(request: Request) -> HTTPResponse:
            if not self._authorized(request):
                return response.json({"error": "a valid bearer token is required"}, status=401)
            try:
                payload = MailPayload.from_json(request.json)
            except InvalidPayload as exc:
                return response.json({"error": str(exc)}, status=400)
            except Exception:  # noqa: BLE001 - Sanic's JSON errors
                return response.json({"error": "the body must be a JSON object"}, status=400)
            self._app = request.app
            agent = self.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded yet"}, status=503)
            try:
                result = await self.conversations.handle(agent, payload, on_new_message)
            except InvalidPayload as exc:
                return response.json({"error": str(exc)}, status=400)
            except (ThreadStoreUnavailable, StoreError) as exc:
                logger.error("mail %s not processed now: %s", payload.mail_id,
                             type(exc).__name__)
                return response.json({"error": "a database is unavailable"}, status=503)
            except Exception as exc:  # noqa: BLE001 - the receiver retries, then parks it
                logger.error("mail %s failed: %s", payload.mail_id, type(exc).__name__,
                             exc_info=True)
                return response.json({"error": "processing failed"}, status=500)
            return response.json(result)

        @webhook.route("/undelivered", methods=["POST"])
        async def undelivered(request: Request) -> HTTPResponse:
            if not self._authorized(request, rasa_api_token()):
                return response.json({"error": "a valid bearer token is required"}, status=401)
            try:
                reply_id, agent = parse_request(request.json)
            except InvalidRequest as exc:
                return response.json({"error": str(exc)}, status=400)
            except Exception:  # noqa: BLE001 - Sanic's JSON errors
                return response.json({"error": "the body must be a JSON object"}, status=400)
            try:
                result = await asyncio.to_thread(self.undelivered.send, reply_id, agent)
            except StoreError as exc:
                logger.error("kept reply %s not mailed now: %s", reply_id, type(exc).__name__)
                return response.json({"error": "the store is unavailable"}, status=503)
            except SpoolError:
                return response.json({"error": "the mail was neither sent nor kept"},
                                     status=502)
            return response.json(result)

        return webhook
