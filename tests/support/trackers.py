"""rasa_sdk trackers built in the test, as the action server would receive them.

    tracker = make_tracker(text="var är mitt paket?", intent="check_order_status",
                           language="sv", metadata={"client": "c1"},
                           slots={"language": "sv"}, active_loop="order_status_form",
                           slot_events={"order_number": "A10001"})

The tracker holds `history` (earlier events, oldest first), then the customer's message (with its
parse data: intent, ranking, entities, detected language, message metadata, input channel), then
the bot's actions so far in this turn (`turn_actions`) and the slots extracted from the message
(`slot_events`, last, as Rasa's form validation expects them).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

# Every slot of the domain at its initial value.
DEFAULT_SLOTS: dict[str, Any] = {
    "language": None,
    "pending_question": None,
    "human_offer_reason": None,
    "order_number": None,
    "email": None,
    "verified_order": None,
    "verified_customer": None,
    "failed_verifications": 0.0,
    "verification_locked": False,
    "return_reason": None,
    "csat_due": False,
    "csat_case_id": None,
    "handoff_active": False,
    "handoff_case_id": None,
    "kb_article_id": None,
    "requested_slot": None,
}


def user_event(text: str, intent: str, *, language: str | None = None,
               entities: list[dict[str, Any]] | None = None,
               metadata: dict[str, Any] | None = None,
               input_channel: str | None = "rest") -> dict[str, Any]:
    """A UserUttered event as Rasa stores it."""
    parse_data: dict[str, Any] = {
        "text": text, "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [], "language": language,
    }
    return {"event": "user", "text": text, "parse_data": parse_data,
            "input_channel": input_channel, "metadata": metadata or {}}


def bot_event(response: str, text: str = "") -> dict[str, Any]:
    """A BotUttered event of a domain response (Rasa puts the response name in the metadata)."""
    return {"event": "bot", "text": text or response, "metadata": {"utter_action": response}}


def action_event(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def slot_event(name: str, value: Any) -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def make_tracker(
    *,
    slots: dict[str, Any] | None = None,
    text: str = "where is my order?",
    intent: str = "check_order_status",
    sender_id: str = "test-conversation",
    active_loop: str | None = None,
    slot_events: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    language: str | None = None,
    metadata: dict[str, Any] | None = None,
    intent_ranking: list[dict[str, Any]] | None = None,
    response_selector: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
    turn_actions: list[str] | None = None,
    input_channel: str | None = "rest",
) -> Tracker:
    """A tracker after one customer message; `slot_events` are slots extracted from it."""
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "language": language,
        "metadata": metadata or {},
        "intent_ranking": intent_ranking or [{"name": intent, "confidence": 0.99}],
    }
    if response_selector is not None:
        latest["response_selector"] = response_selector
    events: list[dict[str, Any]] = list(history or [])
    events.append(action_event("action_listen"))
    user = user_event(text, intent, language=language, entities=entities, metadata=metadata,
                      input_channel=input_channel)
    user["parse_data"] = latest
    events.append(user)
    for name in turn_actions or []:
        events.append(action_event(name))
        if name.startswith("utter_"):
            events.append(bot_event(name))
    values = dict(DEFAULT_SLOTS, **(slots or {}))
    for name, value in (slot_events or {}).items():
        events.append(slot_event(name, value))
        values[name] = value
    return Tracker(
        sender_id=sender_id,
        slots=values,
        latest_message=latest,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name=(turn_actions or ["action_listen"])[-1],
    )


def responses(dispatcher_messages: list[dict[str, Any]]) -> list[str]:
    """The response names a CollectingDispatcher collected, in order."""
    return [str(m.get("response")) for m in dispatcher_messages]


def slot_sets(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The slots the events set (the last value wins)."""
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
