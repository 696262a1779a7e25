"""TwiML pages the phone channel answers with (twilio's VoiceResponse builder).

Rules every page keeps (checked by tests/voice/twiml_rules.py in every test):
- every <Say> and <Gather> uses the call's language (sv-SE, nb-NO, zh-TW, en-GB) and its voice;
- a <Gather> is always followed by a fallback (<Redirect>) for silence, so a caller who says
  nothing is re-prompted once and then handed on, never left in silence or a loop;
- a page ends in <Gather>+<Redirect>, <Dial> (with an action for "nobody answered") or <Hangup>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twilio.twiml.voice_response import Gather, VoiceResponse

from voice.settings import SPEECH_LANGUAGES, VOICES

GATHER_TIMEOUT_SECONDS = 6


@dataclass(frozen=True)
class Line:
    """One sentence to say, in a language (the menu mixes languages)."""

    text: str
    language: str


def _say(target: VoiceResponse | Gather, line: Line) -> None:
    target.say(line.text, language=SPEECH_LANGUAGES[line.language], voice=VOICES[line.language])


def lines_in(language: str, texts: Sequence[str]) -> list[Line]:
    return [Line(text, language) for text in texts if text]


def gather_page(lines: Sequence[Line], *, language: str, action: str, fallback: str,
                digits_only: bool = False, num_digits: int | None = None) -> str:
    """Say the lines while listening (speech and keypad, or keypad only), then the fallback."""
    page = VoiceResponse()
    gather = Gather(
        input="dtmf" if digits_only else "dtmf speech", action=action, method="POST",
        language=SPEECH_LANGUAGES[language], timeout=GATHER_TIMEOUT_SECONDS,
        **({} if digits_only else {"speech_timeout": "auto"}),
        **({"num_digits": num_digits} if num_digits else {"finish_on_key": "#"}),
    )
    for line in lines:
        _say(gather, line)
    page.append(gather)
    page.redirect(fallback, method="POST")
    return str(page)


def dial_page(lines: Sequence[Line], *, number: str, action: str, timeout: int) -> str:
    """Say the lines, then transfer the call; `action` hears how the transfer ended."""
    page = VoiceResponse()
    for line in lines:
        _say(page, line)
    page.dial(number, action=action, method="POST", timeout=timeout)
    return str(page)


def hangup_page(lines: Sequence[Line]) -> str:
    """Say the lines and end the call."""
    page = VoiceResponse()
    for line in lines:
        _say(page, line)
    page.hangup()
    return str(page)


def reject_page() -> str:
    """For a webhook that must not go on (an unknown call step): end without a word."""
    page = VoiceResponse()
    page.hangup()
    return str(page)
