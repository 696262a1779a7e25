"""Running an action the way the action server does, and reading what it did.

`run` calls the action with a real CollectingDispatcher and checks every message it collected
against the message catalogue: the response exists and every `{placeholder}` of it is filled, in
the conversation's language, by the parameters the action passed (or a slot, as Rasa's NLG
does). A response name or parameter the catalogue does not know fails the test there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from message_catalogue.messages import get_catalogue
from nordvik.languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
_LEFT_OVER = re.compile(r"{([^\n{}]+?)}")


@lru_cache(maxsize=1)
def domain_dict() -> dict[str, Any]:
    """The parts of the domain the SDK's form validation reads (forms and slots)."""
    forms: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        forms.update(data.get("forms") or {})
        slots.update(data.get("slots") or {})
    return {"forms": forms, "slots": slots}


def check_rendered(message: Mapping[str, Any], tracker: Tracker) -> str | None:
    """The text the customer reads for one collected message (None for a plain text message);
    fails when the response is unknown or a placeholder stays unfilled."""
    name = message.get("response")
    if not name:
        return None
    language = tracker.get_slot("language")
    language = language if language in LANGUAGES else "en"
    known = {key: value for key, value in tracker.slots.items() if value is not None}
    params = {key: value for key, value in message.items()
              if key not in ("text", "buttons", "elements", "custom", "template", "response",
                             "image", "attachment")}
    known.update({key: value for key, value in params.items() if value is not None})
    # (no response uses these two as placeholders; they are render()'s own arguments)
    known.pop("language", None)
    known.pop("name", None)
    text = get_catalogue().text(str(name), language, **known)
    left = _LEFT_OVER.findall(text.replace("{{", "").replace("}}", ""))
    assert not left, f"{name} ({language}) has unfilled placeholders {left}: {text!r}"
    return text


async def run(action: Any, tracker: Tracker,
              domain: Mapping[str, Any] | None = None
              ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(messages, events) of one run of `action` on `tracker`."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker, dict(domain or domain_dict()))
    events = await result if hasattr(result, "__await__") else result
    for message in dispatcher.messages:
        check_rendered(message, tracker)
    return dispatcher.messages, list(events)


def names(messages: list[dict[str, Any]]) -> list[str]:
    return [str(m.get("response")) for m in messages]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots the events set (the last value wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def all_text(values: Any) -> str:
    """Every string inside `values` (events, slots, messages), for "nothing leaked" checks."""
    if isinstance(values, str):
        return values
    if isinstance(values, Mapping):
        return " ".join(all_text(v) for v in values.values())
    if isinstance(values, (list, tuple, set)):
        return " ".join(all_text(v) for v in values)
    return ""
