"""Replies written for the ear: what the caller hears for each bot message.

For a bot message `utter_X` the phone's own variant `utter_phone_X` (domain/voice.yml) is said
when the catalogue has it, filled with the message's parameters; otherwise the text Rasa
rendered. Either way:

- links are left out (a URL cannot be heard; the clause that only pointed at it goes too);
- order numbers and tracking numbers are read in groups ("A10234" -> "A, 1 0 2, 3 4");
- the expected delivery date is said the way people say it ("tisdag 8 december", the year
  only when it is not this year; message_catalogue.formatting.format_spoken_date); other dates
  in the catalogue's long form ("26 november 2026");
- emoji and chat markup are dropped;
- buttons become spoken choices with keypad digits (`utter_phone_choice`), whose payloads the
  next request maps back (voice/calls.py).

Nothing here is customer text of its own: the words come from the catalogue.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from message_catalogue.formatting import format_spoken_date
from message_catalogue.messages import Catalogue, CatalogueError

MAX_CHOICES = 9
PHONE_PREFIX = "utter_phone_"
# Responses said by another phone response, their buttons kept as keypad digits but not read
# out: the dialogue's rating question is the keypad rating ("press 1 to 5").
KEYPAD_ONLY = {"utter_ask_csat_rating": "utter_phone_csat"}
_URL = re.compile(
    r"(?:\s*(?:here|här|her|at|på|i|hos|在這裡查詢貨態|可在這裡查詢貨態)?\s*[:：]?\s*)"
    r"(?:https?://|www\.)[^\s<>\"')）]*[^\s<>\"')）.,;:!?。]", re.IGNORECASE)
_BARE_DOMAIN = re.compile(
    r"(?<![@\w.])[a-z0-9-]+\.example(?:/[^\s]*[^\s.,;:!?。])?(?![\w@])", re.IGNORECASE)
_ORDER = re.compile(r"(?<![A-Za-z0-9])([Aa])([0-9]{3})([0-9]{2})(?![0-9A-Za-z])")
_MARKUP = re.compile(r"[*_`#>]+")
_SPACES = re.compile(r"[ \t]+")
_ORPHANS = re.compile(r"\s*[,:;：，]\s*(?=[.。!?！？]|$)")
_PARAM_CODES = ("tracking_number",)
_PARAM_ORDERS = ("order_number",)


def grouped(code: str, size: int = 3) -> str:
    """A code read in groups: characters apart, groups separated by a pause (comma)."""
    chars = [ch for ch in code if ch.isalnum()]
    groups = [" ".join(chars[i:i + size]) for i in range(0, len(chars), size)]
    return ", ".join(groups)


def spoken_order_number(number: str) -> str:
    """"A10234" -> "A, 1 0 2, 3 4"."""
    found = _ORDER.fullmatch(number.strip())
    if found is None:
        return number
    return f"{found.group(1).upper()}, {' '.join(found.group(2))}, {' '.join(found.group(3))}"


def _no_emoji(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co")
                   and ch not in "\ufe0f\u200d")


def for_the_ear(text: str) -> str:
    """The text with links, emoji and markup removed, order numbers grouped, spaces tidied."""
    spoken = _URL.sub("", text)
    spoken = _BARE_DOMAIN.sub("", spoken)
    spoken = _no_emoji(_MARKUP.sub("", spoken))
    spoken = _ORDER.sub(lambda m: spoken_order_number(m.group(0)), spoken)
    spoken = _ORPHANS.sub("", spoken.replace("\n", " "))
    return _SPACES.sub(" ", spoken).strip()


def has_url(text: str) -> bool:
    """Whether `text` still holds something that reads as a link (tests and a last check)."""
    return bool(re.search(r"https?://|www\.|\b[a-z0-9-]+\.(?:example|com|se|no|tw)/",
                          text, re.IGNORECASE))


@dataclass(frozen=True)
class Spoken:
    """What one turn says, and what the keypad digits stand for in the next request."""

    lines: tuple[str, ...] = ()
    choices: tuple[str, ...] = field(default=())  # button payloads for keys 1..9


def spoken_params(message: Mapping[str, Any], language: str,
                  today: date | None = None) -> dict[str, Any]:
    """The message's parameters, order and tracking numbers in their spoken form, and the
    expected delivery date as people say it ("tisdag 8 december") when the message has it as
    data (`eta_date`)."""
    params = {key: value for key, value in message.items() if isinstance(value, (str, int, float))}
    try:
        eta = date.fromisoformat(str(params.get("eta_date") or ""))
    except ValueError:
        eta = None
    if eta is not None:
        params["eta"] = format_spoken_date(eta, language,
                                           today or datetime.now(timezone.utc).date())
    for key in _PARAM_ORDERS:
        value = params.get(key)
        if isinstance(value, str):
            params[key] = spoken_order_number(value)
    for key in _PARAM_CODES:
        value = params.get(key)
        if isinstance(value, str):
            params[key] = grouped(value)
    return params


def voice_variant(catalogue: Catalogue, message: Mapping[str, Any], language: str) -> str | None:
    """The phone's own variant of the message's response, filled; None when it has none."""
    name = str(message.get("utter_action") or "")
    if not name.startswith("utter_") or name.startswith(PHONE_PREFIX):
        return None
    variant = KEYPAD_ONLY.get(name) or PHONE_PREFIX + name[len("utter_"):]
    try:
        return catalogue.text(variant, language, **spoken_params(message, language))
    except CatalogueError:
        return None


def speak_messages(catalogue: Catalogue, messages: Sequence[Mapping[str, Any]],
                   language: str) -> Spoken:
    """Every bot message of a turn for the ear; the last message's buttons become choices."""
    lines: list[str] = []
    choices: list[str] = []
    for message in messages:
        text = voice_variant(catalogue, message, language)
        if text is None:
            text = str(message.get("text") or "")
        text = for_the_ear(text)
        if text:
            lines.append(text)
        buttons = [b for b in message.get("buttons") or [] if isinstance(b, Mapping)]
        if buttons:
            choices = []
            quiet = message.get("utter_action") in KEYPAD_ONLY
            for digit, button in enumerate(buttons[:MAX_CHOICES], start=1):
                title = for_the_ear(str(button.get("title") or ""))
                if not quiet:
                    lines.append(catalogue.text("utter_phone_choice", language, choice=title,
                                                digit=digit))
                choices.append(str(button.get("payload") or title))
    return Spoken(tuple(lines), tuple(choices))
