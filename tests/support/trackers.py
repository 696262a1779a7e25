"""rasa_sdk trackers built in the test, as the action server would receive them."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

DEFAULT_SLOTS: dict[str, Any] = {
    "order_number": None,
    "email": None,
    "verified_order": None,
    "failed_verifications": 0.0,
    "verification_locked": False,
    "awaiting_cancel_confirmation": False,
    "requested_slot": None,
}


def make_tracker(
    *,
    slots: dict[str, Any] | None = None,
    text: str = "where is my order?",
    intent: str = "check_order_status",
    sender_id: str = "test-conversation",
    active_loop: str | None = None,
    slot_events: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker after one customer message; `slot_events` are slots extracted from it."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    events: list[dict[str, Any]] = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": text, "parse_data": latest},
    ]
    values = dict(DEFAULT_SLOTS, **(slots or {}))
    for name, value in (slot_events or {}).items():
        events.append({"event": "slot", "name": name, "value": value})
        values[name] = value
    return Tracker(
        sender_id=sender_id,
        slots=values,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def responses(dispatcher_messages: list[dict[str, Any]]) -> list[str]:
    """The response names a CollectingDispatcher collected, in order."""
    return [str(m.get("response")) for m in dispatcher_messages]


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
