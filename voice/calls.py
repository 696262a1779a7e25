"""The call flow: what each Twilio webhook of a call answers, as TwiML.

    incoming -> greeting (language by the number dialled) or the language menu
    menu     -> the menu's answer (keypad 1-4 or the language's name said) -> greeting
    gather   -> what the caller said or keyed goes to Rasa; the replies are said (speech.py)
    dial     -> how the transfer to the agents ended: rating, or a callback if nobody answered
    csat     -> the keypad rating (to the conversation in Rasa, see below), then goodbye
    end      -> goodbye without a rating
    status   -> the call ended (Twilio's status callback): the call's record if not yet written

The call's state travels in the URLs the channel gives Twilio (signed by Twilio with the rest of
the request): `l` the language, `n` the step (every request of a call is unique, so a replay is
recognised), `m` how many times in a row nothing usable was heard, `k` what was asked (an order
number or a postcode: keypad digits mean those), `c1`..`c9` the payloads of spoken choices.
Silence or speech that is not understood gets ONE re-prompt; the next miss hands the call to a
person (in hours) or a callback, so a caller never loops.

The rating the channel asks itself (after an answered transfer, or a goodbye with no rating due)
is the dialogue's rating all the same: the question is `Assistant.ask_rating` when it is put, the
key `Assistant.rate` (voice/channel.py runs the dialogue's own rating actions), so the analytics
count it and the CRM stores it once, like a rating given in chat. If that fails, the caller
still hears the thanks and goodbye; the failure is logged without the caller's details.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import urlencode

from message_catalogue.messages import Catalogue
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES
from nordvik.phones import normalize_phone
from nordvik.secrets import pseudonym, seal
from store.ownership import spoken_postcode
from voice.settings import LANGUAGE_ORDER, VoiceSettings
from voice.speech import speak_messages
from voice.twiml import Line, dial_page, gather_page, hangup_page, lines_in

logger = logging.getLogger(__name__)

HANDOFF_RESPONSES = frozenset({"utter_handoff_started", "utter_handoff_started_offline",
                               "utter_handoff_already_active", "utter_handoff_unavailable"})
NOT_UNDERSTOOD = frozenset({"utter_core_fallback", "utter_ask_rephrase", "utter_kb_rephrase"})
END_RESPONSES = frozenset({"utter_goodbye"})
ASKS_ORDER = frozenset({"utter_ask_order_number", "utter_remind_order_number",
                        "utter_order_number_invalid"})
ASKS_POSTCODE = frozenset({"utter_ask_email", "utter_remind_email", "utter_email_invalid",
                           "utter_order_not_found"})
REQUEST_HUMAN = "/request_human"
POSTCODE_PURPOSE = "postcode"  # actions/forms.py unseals it
PHONE_PURPOSE = "phone"  # actions/verification.py unseals it
# What a caller may say at the language menu (lower-case, in any of the languages).
MENU_WORDS = {
    "sv": ("svenska", "swedish", "svensk"), "nb": ("norsk", "norwegian", "bokmål"),
    "en": ("english", "engelska", "engelsk"), "zh": ("中文", "chinese", "mandarin", "國語", "華語"),
}
_SPOKEN_ORDER = re.compile(
    r"(?<![A-Za-z0-9])([Aa]|8)?[\s,.-]*((?:[0-9][\s,.-]*){4}[0-9])(?![0-9])")


@dataclass(frozen=True)
class CallRequest:
    """The fields of a Twilio voice webhook the flow reads, plus the URL's state."""

    call_sid: str
    caller: str | None  # E.164, None when withheld
    dialled: str | None
    speech: str = ""
    digits: str = ""
    dial_status: str = ""
    call_status: str = ""
    state: Mapping[str, str] | None = None

    def get(self, key: str, default: str = "") -> str:
        return str((self.state or {}).get(key, default))

    @property
    def language(self) -> str:
        lang = self.get("l", DEFAULT_LANGUAGE)
        return lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    @property
    def step(self) -> int:
        value = self.get("n", "0")
        return int(value) if value.isdigit() and len(value) < 6 else 0

    @property
    def misses(self) -> int:
        return 1 if self.get("m") == "1" else 0


@dataclass(frozen=True)
class CallTurn:
    """Where the call stands after a webhook, for the channel's record and hand-on."""

    twiml: str
    outcome: str = ""  # set when the call ends here: resolved, transferred, callback, ...


class Assistant(Protocol):
    """The Rasa side (voice/channel.py): one turn, the slots, the rating the channel asks."""

    async def turn(self, conversation_id: str, text: str,
                   metadata: dict[str, Any]) -> list[dict[str, Any]]: ...

    async def slots(self, conversation_id: str) -> dict[str, Any]: ...

    async def ask_rating(self, conversation_id: str) -> None: ...

    async def rate(self, conversation_id: str, rating: int,
                   metadata: dict[str, Any]) -> None: ...


class CallEffects(Protocol):
    """What a call does outside Rasa (voice/callbacks.py): callbacks, notes, the record."""

    def transferring(self, conversation_id: str, case_id: int | None) -> None: ...

    def callback(self, conversation_id: str, case_id: int | None, phone: str | None,
                 language: str, order_number: str | None) -> int | None: ...


def conversation_id(call_sid: str) -> str:
    """The Rasa conversation of a call: a keyed hash of Twilio's CallSid."""
    return "phone-" + pseudonym(call_sid, purpose="phone-call")[:24]


def caller_of(raw: str | None) -> str | None:
    """The caller's number in E.164 (Twilio sends E.164), None when withheld or junk."""
    return normalize_phone(raw, region=None)


def url(route: str, language: str, step: int, **state: Any) -> str:
    """A relative URL of the channel with the call's state (Twilio resolves and signs it)."""
    query = {"l": language, "n": str(step)}
    query.update({key: str(value) for key, value in state.items() if value not in (None, "")})
    return f"{route}?{urlencode(query)}"


class CallFlow:
    """Each webhook's answer; no web framework here (voice/channel.py serves it)."""

    def __init__(self, settings: VoiceSettings, catalogue: Catalogue, assistant: Assistant,
                 effects: CallEffects) -> None:
        self.settings = settings
        self.catalogue = catalogue
        self.assistant = assistant
        self.effects = effects

    def _say(self, name: str, language: str, **params: Any) -> Line:
        return Line(self.catalogue.text(name, language, **params), language)

    def metadata(self, request: CallRequest) -> dict[str, Any]:
        client = pseudonym(request.caller or request.call_sid, purpose="client")
        meta: dict[str, Any] = {"client": client, "language": request.language}
        if request.caller is not None:
            # proven: the caller ID of a signed Twilio request; sealed, so that the tracker
            # store keeps no number in clear (actions.verification.channel_phone unseals it)
            meta["phone"] = seal(request.caller, purpose=PHONE_PURPOSE)
        return meta

    def _listen(self, lines: Sequence[Line], language: str, step: int, misses: int = 0,
                asked: str = "", choices: Sequence[str] = ()) -> str:
        state: dict[str, Any] = {"m": misses, "k": asked}
        state.update({f"c{digit}": payload for digit, payload in enumerate(choices, start=1)})
        return gather_page(lines, language=language, action=url("gather", language, step, **state),
                           fallback=url("gather", language, step, s=1, **state))

    # ------------------------------------------------------------------ start of the call

    def incoming(self, request: CallRequest) -> CallTurn:
        language = self.settings.language_of_number(request.dialled)
        if language is None:
            return CallTurn(self._menu(0, 1))
        return CallTurn(self._listen([self._say("utter_phone_greeting", language)], language, 1))

    def _menu(self, misses: int, step: int) -> str:
        lines = [self._say("utter_phone_menu_option", lang, digit=digit)
                 for digit, lang in enumerate(LANGUAGE_ORDER, start=1)]
        state = {"m": misses}
        return gather_page(lines, language=DEFAULT_LANGUAGE, num_digits=1,
                           action=url("menu", DEFAULT_LANGUAGE, step, **state),
                           fallback=url("menu", DEFAULT_LANGUAGE, step, s=1, **state))

    def menu(self, request: CallRequest) -> CallTurn:
        chosen = _menu_choice(request.digits, request.speech)
        if chosen is None and request.misses == 0:
            return CallTurn(self._menu(1, request.step + 1))
        language = chosen or DEFAULT_LANGUAGE  # asked twice: go on in English, never loop
        greeting = [self._say("utter_phone_greeting", language)]
        return CallTurn(self._listen(greeting, language, request.step + 1))

    # ------------------------------------------------------------------ the conversation

    async def gather(self, request: CallRequest) -> CallTurn:
        language, step = request.language, request.step + 1
        text = self.caller_text(request)
        conv = conversation_id(request.call_sid)
        if text is None:
            if request.misses:
                return await self._hand_on(request)
            reprompt = [self._say("utter_phone_reprompt", language)]
            choices = [request.get(f"c{d}") for d in range(1, 10) if request.get(f"c{d}")]
            return CallTurn(self._listen(reprompt, language, step, 1, request.get("k"), choices))
        messages = await self.assistant.turn(conv, text, self.metadata(request))
        names = {str(message.get("utter_action") or "") for message in messages}
        if names & HANDOFF_RESPONSES:
            return await self._handed_off(request)
        if names & NOT_UNDERSTOOD and request.misses:
            return await self._hand_on(request)
        spoken = speak_messages(self.catalogue, messages, language)
        lines = lines_in(language, spoken.lines)
        if names & END_RESPONSES:
            return CallTurn(await self._rating_page(conv, lines, language, step))
        misses = 1 if names & NOT_UNDERSTOOD or not spoken.lines else 0
        asked = ("order" if names & ASKS_ORDER else
                 "postcode" if names & ASKS_POSTCODE else "")
        return CallTurn(self._listen(lines, language, step, misses, asked, spoken.choices))

    def caller_text(self, request: CallRequest) -> str | None:
        """What goes to Rasa for this request's speech or keys; None when nothing usable."""
        asked = request.get("k")
        digits = request.digits.strip().rstrip("#")
        if digits:
            if digits == "0":
                return REQUEST_HUMAN
            choice = request.get(f"c{digits}") if len(digits) == 1 else ""
            if choice:
                return choice
            if asked == "order" and len(digits) == 5 and digits.isdigit():
                return f"A{digits}"
            if asked == "postcode":
                return _postcode_message(digits)
            return digits
        speech = request.speech.strip()
        if not speech:
            return None
        if asked == "postcode" and spoken_postcode(speech):
            return _postcode_message(speech)
        return _order_numbers_joined(speech, asked == "order")

    async def _hand_on(self, request: CallRequest) -> CallTurn:
        """Twice nothing usable: ask Rasa for a person (its handoff posts the Slack thread)."""
        conv = conversation_id(request.call_sid)
        await self.assistant.turn(conv, REQUEST_HUMAN, self.metadata(request))
        return await self._handed_off(request)

    async def _handed_off(self, request: CallRequest) -> CallTurn:
        conv = conversation_id(request.call_sid)
        slots = await self.assistant.slots(conv)
        case_id = _int(slots.get("handoff_case_id"))
        language = request.language
        if self.settings.agents_number and self.settings.in_hours(datetime.now(timezone.utc)):
            self.effects.transferring(conv, case_id)
            page = dial_page([self._say("utter_phone_transfer", language)],
                             number=self.settings.agents_number,
                             action=url("dial", language, request.step + 1, case=case_id or ""),
                             timeout=self.settings.dial_timeout)
            return CallTurn(page, "transferred")
        return self._callback(request, case_id, slots.get("verified_order"))

    def _callback(self, request: CallRequest, case_id: int | None, order: Any) -> CallTurn:
        conv = conversation_id(request.call_sid)
        self.effects.callback(conv, case_id, request.caller, request.language,
                              str(order) if order else None)
        name = "utter_phone_callback" if request.caller else "utter_phone_callback_withheld"
        return CallTurn(hangup_page([self._say(name, request.language)]), "callback")

    # ------------------------------------------------------------------ the end of the call

    async def dial(self, request: CallRequest) -> CallTurn:
        conv = conversation_id(request.call_sid)
        if request.dial_status == "completed":
            return CallTurn(await self._rating_page(conv, [], request.language,
                                                    request.step + 1))
        slots = await self.assistant.slots(conv)
        return self._callback(request, _int(request.get("case")), slots.get("verified_order"))

    async def _rating_page(self, conv: str, lines: Sequence[Line], language: str,
                           step: int) -> str:
        """The keypad rating question; the conversation records that it was asked."""
        try:
            await self.assistant.ask_rating(conv)
        except Exception as error:  # noqa: BLE001 - the caller is asked all the same
            logger.warning("rating question of a phone call not in the conversation: %s",
                           type(error).__name__)
        ask = [*lines, self._say("utter_phone_csat", language)]
        return gather_page(ask, language=language, digits_only=True, num_digits=1,
                           action=url("csat", language, step),
                           fallback=url("end", language, step))

    async def csat(self, request: CallRequest) -> CallTurn:
        digits = request.digits.strip()
        if len(digits) == 1 and digits in "12345":
            try:
                await self.assistant.rate(conversation_id(request.call_sid), int(digits),
                                          self.metadata(request))
            except Exception as error:  # noqa: BLE001 - thanks and goodbye all the same
                # the type only: a message could quote the tracker (what the caller said)
                logger.warning("keypad rating of a phone call not recorded: %s",
                               type(error).__name__)
        return self.end(request)

    def end(self, request: CallRequest) -> CallTurn:
        return CallTurn(hangup_page([self._say("utter_phone_csat_thanks", request.language)]),
                        "resolved")


def _menu_choice(digits: str, speech: str) -> str | None:
    digits = digits.strip()
    if digits.isdigit() and 1 <= int(digits) <= len(LANGUAGE_ORDER):
        return LANGUAGE_ORDER[int(digits) - 1]
    said = speech.strip().lower()
    for language, words in MENU_WORDS.items():
        if said and any(word in said for word in words):
            return language
    return None


def _postcode_message(said: str) -> str | None:
    """The postcode as the form's answer: an `inform` with it sealed (never in clear text)."""
    postcode = spoken_postcode(said)
    if postcode is None:
        return said
    return "/inform" + json.dumps({"email": seal(postcode, purpose=POSTCODE_PURPOSE)})


def _order_numbers_joined(speech: str, asked: bool) -> str:
    """"A 1 2 3 4 5" as "A12345"; five digits alone are an order number when one was asked."""
    def join(match: re.Match[str]) -> str:
        prefix, digits = match.group(1), re.sub(r"[^0-9]", "", match.group(2))
        if prefix in ("A", "a") or (asked and prefix in (None, "8")):
            return f"A{digits}"
        return match.group(0)

    return _SPOKEN_ORDER.sub(join, speech).strip()


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
