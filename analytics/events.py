"""Rasa's broker events, reduced to what analytics keeps, with a key that makes ingest idempotent.

Every event the event broker publishes is a JSON object `{"sender_id": ..., **event.as_dict()}`.
`compact(raw)` turns it into an `EventRecord`:
- `key`: SHA-256 of sender_id, timestamp, type and a hash of the whole event (canonical JSON),
  so the same event delivered twice has the same key and is stored once;
- customer, bot and agent texts with e-mail addresses removed (`nordvik.text.redact_emails`)
  and clipped; slot values only for the slots in `mapping.KEPT_SLOTS` (never e-mails or order
  numbers); nothing else of the event.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from analytics import mapping
from analytics.settings import AnalyticsError
from nordvik.text import clip, redact_emails

MAX_TEXT_CHARS = 2000
MAX_NAME_CHARS = 200


class BadEvent(AnalyticsError):
    """A broker message that is not a Rasa event (not JSON, no sender, no type, no timestamp)."""


@dataclass(frozen=True)
class EventRecord:
    """One Rasa event as analytics keeps it."""

    key: str
    sender_id: str
    timestamp: float
    type: str
    name: str | None = None        # action / slot / active loop name; intent for user events
    text: str | None = None        # redacted text of user, bot and agent messages
    intent: str | None = None
    confidence: float | None = None
    language: str | None = None    # parse_data["language"] (nlu.reading)
    channel: str | None = None     # input_channel of user events
    value: str | None = None       # JSON of a kept slot's value; user: kept entities
    response: str | None = None    # metadata.utter_action of bot events
    guess: str | None = None       # user: the NLU's best intent below nlu_fallback (faq/<topic>)


def event_key(raw: dict[str, Any]) -> str:
    """sender_id + timestamp + type + a hash of the whole event: equal events, equal keys."""
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           default=str)
    body = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    head = f"{raw.get('sender_id')}\x00{raw.get('timestamp')!r}\x00{raw.get('event')}\x00{body}"
    return hashlib.sha256(head.encode("utf-8")).hexdigest()


def parse_message(body: bytes | str) -> dict[str, Any]:
    """The JSON object of one broker message; BadEvent for anything else."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadEvent(f"not a JSON event ({type(exc).__name__})") from exc
    if not isinstance(raw, dict):
        raise BadEvent(f"not a JSON object but {type(raw).__name__}")
    return raw


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    return clip(redact_emails(value.replace("\x00", "")), MAX_TEXT_CHARS)


def _name(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)[:MAX_NAME_CHARS]


def _agent_text(raw: dict[str, Any]) -> str | None:
    parse_data = raw.get("parse_data") or {}
    for entity in parse_data.get("entities") or []:
        if isinstance(entity, dict) and entity.get("entity") == mapping.AGENT_MESSAGE_ENTITY:
            return _text(entity.get("value"))
    return None


def _path(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def nlu_guess(parse_data: dict[str, Any]) -> str | None:
    """The best-ranked intent that is not nlu_fallback; for faq the selected topic (faq/<topic>)."""
    ranking = parse_data.get("intent_ranking") or [parse_data.get("intent") or {}]
    for ranked in ranking:
        name = ranked.get("name") if isinstance(ranked, dict) else None
        if not isinstance(name, str) or not name or name == mapping.NLU_FALLBACK_INTENT:
            continue
        if name == mapping.FAQ_INTENT:
            key = _path(parse_data, "response_selector", name, "response", "intent_response_key")
            if isinstance(key, str) and key.startswith(f"{name}/"):
                return key[:MAX_NAME_CHARS]
        return name[:MAX_NAME_CHARS]
    return None


def compact(raw: dict[str, Any]) -> EventRecord:
    """The EventRecord of one broker event; BadEvent when it lacks sender, type or time."""
    sender = raw.get("sender_id")
    kind = raw.get("event")
    stamp = raw.get("timestamp")
    if not isinstance(sender, str) or not sender:
        raise BadEvent("event without a sender_id")
    if not isinstance(kind, str) or not kind:
        raise BadEvent("event without a type")
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)) or not math.isfinite(stamp):
        raise BadEvent("event without a numeric timestamp")
    key = event_key(raw)
    base: dict[str, Any] = {"key": key, "sender_id": sender[:255], "timestamp": float(stamp),
                            "type": kind[:40]}
    if kind == "user":
        parse_data = raw.get("parse_data") or {}
        intent = (parse_data.get("intent") or {}) if isinstance(parse_data, dict) else {}
        intent_name = _name(intent.get("name")) if isinstance(intent, dict) else None
        confidence = intent.get("confidence") if isinstance(intent, dict) else None
        language = parse_data.get("language") if isinstance(parse_data, dict) else None
        external = bool(intent_name and intent_name.startswith(mapping.EXTERNAL_PREFIX))
        kept = {
            str(e.get("entity")): str(e.get("value"))[:MAX_NAME_CHARS]
            for e in (parse_data.get("entities") or [] if isinstance(parse_data, dict) else [])
            if isinstance(e, dict) and e.get("entity") in mapping.KEPT_ENTITIES
        }
        return EventRecord(
            **base, name=intent_name,
            text=_agent_text(raw) if external else _text(raw.get("text")),
            intent=intent_name,
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            language=str(language)[:10] if isinstance(language, str) else None,
            channel=_name(raw.get("input_channel")),
            value=json.dumps(kept, ensure_ascii=False) if kept else None,
            guess=None if external or not isinstance(parse_data, dict)
            else nlu_guess(parse_data),
        )
    if kind == "bot":
        metadata = raw.get("metadata") or {}
        response = metadata.get("utter_action") if isinstance(metadata, dict) else None
        return EventRecord(**base, text=_text(raw.get("text")), response=_name(response))
    if kind == "slot":
        name = _name(raw.get("name"))
        value: str | None = None
        if name in mapping.KEPT_SLOTS:
            slot: Any = raw.get("value")
            if isinstance(slot, str):  # may be the customer's text (from_text mappings)
                slot = clip(redact_emails(slot), MAX_NAME_CHARS)
            value = json.dumps(slot, ensure_ascii=False, default=str)
        return EventRecord(**base, name=name, value=value)
    if kind in ("action", "active_loop", "followup"):
        return EventRecord(**base, name=_name(raw.get("name")))
    return EventRecord(**base)


def slot_value(record: EventRecord) -> Any:
    """The kept slot value of a slot event (None when not kept or unset)."""
    if record.value is None:
        return None
    try:
        return json.loads(record.value)
    except json.JSONDecodeError:
        return record.value
