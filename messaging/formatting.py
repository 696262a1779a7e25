"""What the bot says, shaped for each platform: split at its limits, buttons as quick replies or
as a numbered list.

    outgoing = shape(rasa_messages, Limits(...), language)   -> list[Outgoing]
    split_text("...", 1600)                                  -> ["...", "..."]
    numbered_text("Track it?", (Choice("Yes", "/affirm"), ...), "en")
        -> "Track it?\n\n1. Yes\n2. No\n\nReply with the number of your choice."
    choice_for("2", choices)                                 -> the second choice's payload

Splitting prefers a paragraph break, then a line break, then the end of a sentence, then a
space, and cuts a word only when nothing else fits. The footer under a numbered list is a
catalogue response (utter_messaging_choose_number), in the conversation's language.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from message_catalogue.messages import get_catalogue

_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)|[。！？]")
CHOOSE_NUMBER = "utter_messaging_choose_number"


@dataclass(frozen=True)
class Choice:
    title: str
    payload: str


@dataclass(frozen=True)
class Limits:
    text_chars: int  # one message's text
    quick_replies: int = 0  # 0: the platform has none (numbered text instead)
    quick_reply_chars: int = 20


@dataclass(frozen=True)
class Outgoing:
    """One message to send: text, and quick replies when the platform shows them."""

    text: str
    quick_replies: tuple[Choice, ...] = ()
    numbered: tuple[Choice, ...] = ()  # choices written as a numbered list in `text`
    from_agent: bool = False


def _cut_at(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator)
        if at >= limit // 3:
            return at + len(separator)
    ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if ends and ends[-1] >= limit // 3:
        return ends[-1]
    at = window.rfind(" ")
    return at + 1 if at >= limit // 3 else limit


def split_text(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, none empty, cut at natural places."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        at = _cut_at(rest, limit)
        piece = rest[:at].strip()
        if piece:
            pieces.append(piece)
        rest = rest[at:].strip()
    if rest:
        pieces.append(rest)
    return pieces


def numbered_text(text: str, choices: Sequence[Choice], language: str) -> str:
    lines = [f"{index}. {choice.title}" for index, choice in enumerate(choices, start=1)]
    footer = get_catalogue().text(CHOOSE_NUMBER, language)
    return "\n\n".join(part for part in (text.strip(), "\n".join(lines), footer) if part)


def choice_for(answer: str, choices: Sequence[Choice]) -> str | None:
    """The payload of the choice the customer picked by its number ("2", "２", " 2. ") or by
    its title typed out; None when the answer is neither."""
    cleaned = unicodedata.normalize("NFKC", answer).strip().rstrip(".)").strip()
    if cleaned.isdigit() and cleaned.isascii():
        index = int(cleaned)
        if 1 <= index <= len(choices):
            return choices[index - 1].payload
        return None
    for choice in choices:
        if cleaned.casefold() == unicodedata.normalize("NFKC", choice.title).strip().casefold():
            return choice.payload
    return None


def choices_of(message: Mapping[str, Any]) -> tuple[Choice, ...]:
    found: list[Choice] = []
    for button in message.get("buttons") or []:
        if isinstance(button, Mapping) and button.get("title") and button.get("payload"):
            found.append(Choice(str(button["title"]), str(button["payload"])))
    return tuple(found)


def _fits_quick_replies(choices: Sequence[Choice], limits: Limits) -> bool:
    return (0 < len(choices) <= limits.quick_replies
            and all(len(choice.title) <= limits.quick_reply_chars for choice in choices))


def is_agent_message(message: Mapping[str, Any]) -> bool:
    """A person's words relayed by Rasa (an agent's reply), not a catalogue response."""
    return not message.get("utter_action") and not message.get("template")


def shape_one(message: Mapping[str, Any], limits: Limits, language: str) -> list[Outgoing]:
    """One Rasa message (text, buttons, image) as the platform's messages."""
    text = str(message.get("text") or "")
    if message.get("image"):
        text = f"{text}\n{message['image']}".strip()
    choices = choices_of(message)
    from_agent = is_agent_message(message)
    if choices and _fits_quick_replies(choices, limits):
        pieces = split_text(text or "…", limits.text_chars)
        return [Outgoing(piece, choices if index == len(pieces) - 1 else (),
                         from_agent=from_agent)
                for index, piece in enumerate(pieces)]
    if choices:
        pieces = split_text(numbered_text(text, choices, language), limits.text_chars)
        return [Outgoing(piece, numbered=choices if index == len(pieces) - 1 else (),
                         from_agent=from_agent)
                for index, piece in enumerate(pieces)]
    return [Outgoing(piece, from_agent=from_agent) for piece in split_text(text, limits.text_chars)]


def shape(messages: Iterable[Mapping[str, Any]], limits: Limits, language: str) -> list[Outgoing]:
    shaped: list[Outgoing] = []
    for message in messages:
        shaped.extend(shape_one(message, limits, language))
    return shaped


def pending_choices(outgoing: Sequence[Outgoing]) -> tuple[Choice, ...]:
    """The numbered choices the customer may answer next: those of the last message, if any."""
    return outgoing[-1].numbered if outgoing else ()
