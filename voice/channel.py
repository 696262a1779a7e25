"""The Rasa input channel `phone` (credentials.yml: `voice.channel.VoiceInput:`).

Twilio calls, for a number whose "A call comes in" webhook is {base}/webhooks/phone/call:

    POST /webhooks/phone/call      the call starts (language by the number dialled, or the menu)
    POST /webhooks/phone/menu      the language menu's answer
    POST /webhooks/phone/gather    what the caller said (SpeechResult) or keyed (Digits)
    POST /webhooks/phone/dial      how the transfer to the agents ended (DialCallStatus)
    POST /webhooks/phone/csat      the keypad rating;  /end  goodbye without one
    POST /webhooks/phone/status    the number's status callback: the call ended
    GET  /webhooks/phone/          health

Every POST must carry a valid X-Twilio-Signature for the URL and its fields, and must not have
been seen before (voice/security.py): otherwise 403, nothing said, nothing run. Without
TWILIO_AUTH_TOKEN the channel is off: 503. Answers are TwiML (voice/calls.py, voice/twiml.py).
The caller's number, proven by the signed request, travels in the message metadata `phone`
(E.164; absent when withheld) for the order check by caller ID (actions/verification.py).

The rating the channel asks itself (after an answered transfer, or a goodbye with no rating due:
voice/calls.py) goes through the dialogue's own rating actions, run by the Rasa agent this
channel is served by: `action_ask_csat` when the question is put, then the key as the rating
button's message (`/csat_rating{"csat_rating": "4"}`, logged like any message of the call) and
`action_submit_csat`, which stores it in the CRM (the only writer of ratings, so one row) and
whose events are what the analytics count (asked, then the rating: analytics/facts.py). Why not
send the key through the dialogue as a message: after a transfer the handoff is still active, and
the rules forward a rating to the agent's Slack thread; and why not write the events here: the
stream would say that action_submit_csat ran when it did not, and the CRM row would need a second
writer. So the channel picks the two actions itself (policy "phone_channel" in the event stream)
and, as Rasa ends every turn, listens after each: no follow-up (the comment question) is left
pending in a call that is over. Under the conversation's lock, like a message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from handoff.relay import HandoffSettings, transcript_from_events
from message_catalogue.messages import get_catalogue
from rasa_addons.settings import ChannelSettings
from voice.callbacks import CallRecords
from voice.calls import CallFlow, CallRequest, CallTurn, caller_of, conversation_id
from voice.security import RequestCheck
from voice.settings import VoiceSettings
from voice.twiml import hangup_page, lines_in

logger = logging.getLogger(__name__)

STATE_KEYS = ("l", "n", "m", "k", "s", "case", *(f"c{d}" for d in range(1, 10)))
MAX_FIELD_CHARS = 2000
TWIML = "text/xml"
MAX_REMEMBERED_CALLS = 10_000  # calls whose record is written (the status callback comes last)
# The dialogue's rating (actions/csat.py, domain/csat.yml), by name: the channel imports no actions.
ASK_RATING = "action_ask_csat"
SUBMIT_RATING = "action_submit_csat"
RATING_BUTTON = '/csat_rating{{"csat_rating": "{rating}"}}'
CHANNEL_POLICY = "phone_channel"  # who chose those actions, in the event stream


class AssistantUnavailable(RuntimeError):
    """The Rasa agent is not (yet) there to record the rating."""


class PhoneOutput(CollectingOutputChannel):
    """Collects a turn's messages (with their response names and parameters) for the call."""

    @classmethod
    def name(cls) -> str:
        return "phone"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        # The whole message: its response name (utter_action) and parameters pick the voice
        # variant (voice/speech.py); the base class would keep only text and buttons.
        self.messages.append(dict(message))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.messages.append({"text": text})


class RasaAssistant:
    """The Rasa side of a call (voice.calls.Assistant)."""

    def __init__(self, channel: VoiceInput,
                 on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        self.channel = channel
        self.on_new_message = on_new_message

    async def turn(self, conversation_id: str, text: str,
                   metadata: dict[str, Any]) -> list[dict[str, Any]]:
        output = PhoneOutput()
        await self.on_new_message(UserMessage(text, output, conversation_id,
                                              input_channel="phone", metadata=metadata))
        return list(output.messages)

    async def _tracker(self, conversation_id: str) -> Any:
        agent = self.channel.agent
        return None if agent is None else await agent.tracker_store.retrieve(conversation_id)

    async def slots(self, conversation_id: str) -> dict[str, Any]:
        tracker = await self._tracker(conversation_id)
        return dict(tracker.current_slot_values()) if tracker is not None else {}

    async def events(self, conversation_id: str) -> list[dict[str, Any]]:
        tracker = await self._tracker(conversation_id)
        return [event.as_dict() for event in tracker.events] if tracker is not None else []

    def _ready_agent(self) -> Any:
        agent = self.channel.agent
        if agent is None or not agent.is_ready():
            raise AssistantUnavailable("no Rasa agent")
        return agent

    async def ask_rating(self, conversation_id: str) -> None:
        """The rating question as the dialogue asks it (its words are the phone's own)."""
        agent = self._ready_agent()
        async with agent.lock_store.lock(conversation_id):
            await _run_action(agent, conversation_id, ASK_RATING, PhoneOutput())

    async def rate(self, conversation_id: str, rating: int, metadata: dict[str, Any]) -> None:
        """The keyed rating as the rating button's message, answered by the rating action."""
        agent = self._ready_agent()
        output = PhoneOutput()
        message = UserMessage(RATING_BUTTON.format(rating=rating), output, conversation_id,
                              input_channel="phone", metadata=metadata)
        async with agent.lock_store.lock(conversation_id):
            tracker = await agent.processor.log_message(message, should_save_tracker=False)
            tracker = await agent.processor.run_action_extract_slots(output, tracker)
            await agent.processor.save_tracker(tracker)
            await _run_action(agent, conversation_id, SUBMIT_RATING, output)


async def _run_action(agent: Any, conversation_id: str, action: str,
                      output: OutputChannel) -> None:
    """One action of the dialogue for the conversation, then listening, as a turn ends."""
    tracker = await agent.execute_action(conversation_id, action, output, CHANNEL_POLICY, 1.0)
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME, policy=CHANNEL_POLICY, confidence=1.0))
    await agent.processor.save_tracker(tracker)


class VoiceInput(InputChannel):
    """Twilio Voice webhooks answered with TwiML; the assistant is the same Rasa model."""

    @classmethod
    def name(cls) -> str:
        return "phone"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()

    def __init__(self, settings: VoiceSettings | None = None) -> None:
        self._settings = settings
        self._check: RequestCheck | None = None
        self._app: Any = None
        self._recorded: set[str] = set()

    @property
    def settings(self) -> VoiceSettings:
        if self._settings is None:
            self._settings = VoiceSettings.from_env()
        return self._settings

    @property
    def check(self) -> RequestCheck:
        if self._check is None:
            shared = ChannelSettings.from_env()  # REDIS_URL's owner, as for the rate limits
            self._check = RequestCheck(self.settings.auth_token, self.settings.replay_seconds,
                                       shared.redis_url, shared.rate_limit_prefix)
        return self._check

    @property
    def agent(self) -> Any:
        return getattr(getattr(self._app, "ctx", None), "agent", None)

    def get_output_channel(self) -> OutputChannel | None:
        # An agent's Slack reply (trigger_intent, output_channel=latest) cannot reach a call:
        # the caller talks to the agent on the line, or is called back. Collected and dropped.
        return PhoneOutput()

    def signed_url(self, request: Request) -> str:
        """The URL Twilio signed: VOICE_PUBLIC_URL + the route (+ query), else as received."""
        if not self.settings.public_url:
            return str(request.url)
        route = request.path.rsplit("/", 1)[-1]
        query = f"?{request.query_string}" if request.query_string else ""
        return f"{self.settings.public_url}/{route}{query}"

    def verdict(self, request: Request) -> tuple[str, dict[str, str]]:
        fields = {key: str(values[0])[:MAX_FIELD_CHARS]
                  for key, values in (request.form or {}).items() if values}
        signature = request.headers.get("X-Twilio-Signature")
        return self.check.verdict(self.signed_url(request), fields, signature), fields

    def call_request(self, request: Request, fields: dict[str, str]) -> CallRequest:
        state = {key: str(request.args.get(key)) for key in STATE_KEYS
                 if request.args.get(key) is not None}
        return CallRequest(
            call_sid=fields.get("CallSid", ""), caller=caller_of(fields.get("From")),
            dialled=fields.get("To"), speech=fields.get("SpeechResult", ""),
            digits=fields.get("Digits", ""), dial_status=fields.get("DialCallStatus", ""),
            call_status=fields.get("CallStatus", ""), state=state)

    async def finish(self, assistant: RasaAssistant, call: CallRequest, outcome: str) -> None:
        """The call's record in the CRM, once per call."""
        conv = conversation_id(call.call_sid)
        if conv in self._recorded:
            return
        if len(self._recorded) > MAX_REMEMBERED_CALLS:
            self._recorded.clear()
        self._recorded.add(conv)
        try:
            slots = await assistant.slots(conv)
            transcript = transcript_from_events(await assistant.events(conv))
        except Exception:  # noqa: BLE001 - the record must not break the call
            logger.exception("transcript of a phone call unavailable")
            slots, transcript = {}, []
        order = slots.get("verified_order")
        CallRecords(HandoffSettings.from_env()).record_call(
            conv, language=call.language, outcome=outcome, transcript=transcript,
            order_number=str(order) if order else None)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        hook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        assistant = RasaAssistant(self, on_new_message)

        def flow() -> CallFlow:
            return CallFlow(self.settings, get_catalogue(), assistant,
                            CallRecords(HandoffSettings.from_env()))

        @hook.listener("before_server_start")
        async def remember_app(app: Any, _loop: Any) -> None:
            self._app = app

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if not self.settings.missing() else "off"})

        async def answer(request: Request, step: str) -> HTTPResponse:
            self._app = request.app
            missing = self.settings.missing()
            if missing:
                logger.warning("phone webhook refused: %s", missing)
                return response.text("the phone channel is off", status=503)
            verdict, fields = self.verdict(request)
            if verdict != "ok":
                logger.warning("phone webhook %s refused: %s request", step, verdict)
                return response.text("forbidden", status=403)
            call = self.call_request(request, fields)
            if not call.call_sid:
                return response.text("not a call", status=400)
            try:
                turn = await run_step(flow(), call, step)
            except Exception:  # noqa: BLE001 - a caller must hear something, never silence
                logger.exception("phone webhook %s failed", step)
                unavailable = get_catalogue().text("utter_phone_unavailable", call.language)
                turn = CallTurn(hangup_page(lines_in(call.language, [unavailable])), "failed")
            if turn.outcome and turn.outcome != "transferred":
                await self.finish(assistant, call, turn.outcome)
            return response.text(turn.twiml, content_type=TWIML)

        for step in ("call", "menu", "gather", "dial", "csat", "end", "status"):
            hook.add_route(_handler(answer, step), f"/{step}", methods=["POST"],
                           name=f"phone_{step}")
        return hook


def _handler(answer: Callable[[Request, str], Awaitable[HTTPResponse]],
             step: str) -> Callable[[Request], Coroutine[Any, Any, HTTPResponse]]:
    async def handle(request: Request) -> HTTPResponse:
        return await answer(request, step)

    return handle


async def run_step(flow: CallFlow, call: CallRequest, step: str) -> CallTurn:
    """The flow's answer to one webhook."""
    if step == "call":
        return flow.incoming(call)
    if step == "menu":
        return flow.menu(call)
    if step == "gather":
        return await flow.gather(call)
    if step == "dial":
        return await flow.dial(call)
    if step == "csat":
        return await flow.csat(call)
    if step == "end":
        return flow.end(call)
    # status: the call is over; its record is written (once) unless the flow already did
    outcome = "caller hung up" if call.call_status == "completed" else ""
    return CallTurn("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response />", outcome)
