"""Live human handoff to Slack: start it, forward the customer's messages, relay the agent's.

The logic (opening or reusing the case, the Slack post, the transcript) lives in the handoff
package (handoff/service.py, handoff/relay.py), shared with the e-mail channel; the case lives in
the CRM store. These actions read slots, call those, utter catalogue responses and return events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    HUMAN_OFFER,
    SLOT_OFFER_REASON,
    SLOT_PENDING,
    channel_of,
    conversation_language,
    latest_intent,
    store_unavailable,
)
from actions.verification import load_order_in_hand
from handoff.relay import AGENT_MESSAGE_ENTITY, HandoffSettings, transcript_from_events
from handoff.service import HandoffRequest, forward_customer_message, start_handoff
from store.errors import StoreError

logger = logging.getLogger(__name__)

_INTENT_REASONS = {"request_human": "requested", "complaint": "complaint"}


def handoff_reason(tracker: Tracker) -> str:
    """Why this conversation goes to a person (a handoff.service.REASONS code)."""
    if tracker.get_slot(SLOT_PENDING) == HUMAN_OFFER and latest_intent(tracker) == "affirm":
        return str(tracker.get_slot(SLOT_OFFER_REASON) or "not_understood")
    return _INTENT_REASONS.get(latest_intent(tracker), "requested")


def latest_question(tracker: Tracker) -> str:
    """The customer's latest message that is a question (not a button, not "yes")."""
    for event in reversed(tracker.events):
        text = str(event.get("text") or "")
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if (event.get("event") == "user" and text and not text.startswith(("/", "EXTERNAL_"))
                and intent not in ("affirm", "deny", "request_human")):
            return text
    return ""


class ActionHandoffToHuman(Action):
    """Open (or reuse) the conversation's case, post it to Slack, tell the customer."""

    def name(self) -> str:
        return "action_handoff_to_human"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        leave: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
        try:
            order = load_order_in_hand(tracker)
            request = HandoffRequest(
                conversation_id=tracker.sender_id, channel=channel_of(tracker),
                reason=handoff_reason(tracker), language=conversation_language(tracker),
                transcript=tuple(transcript_from_events(tracker.events)),
                question=latest_question(tracker), order=order,
            )
            outcome = start_handoff(request, HandoffSettings.from_env())
        except StoreError:
            return leave + store_unavailable(dispatcher, "starting a handoff")
        if outcome.kind == "unavailable":
            dispatcher.utter_message(response="utter_handoff_unavailable", case_id=outcome.case_id)
            return leave
        if outcome.kind == "already_active":
            dispatcher.utter_message(response="utter_handoff_already_active",
                                     case_id=outcome.case_id)
        elif outcome.agents_on_duty:
            dispatcher.utter_message(response="utter_handoff_started", case_id=outcome.case_id,
                                     minutes=HandoffSettings.from_env().expected_wait_minutes)
        else:
            dispatcher.utter_message(response="utter_handoff_started_offline",
                                     case_id=outcome.case_id)
        return [*leave, SlotSet("handoff_active", True),
                SlotSet("handoff_case_id", outcome.case_id)]


class ActionForwardToAgent(Action):
    """While a handoff is active, post the customer's message to the case's Slack thread."""

    def name(self) -> str:
        return "action_forward_to_agent"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        try:
            # The whole message (the channel caps its length): the agent reads all of it, and
            # the record's addresses are removed before the store cuts it.
            text = str((tracker.latest_message or {}).get("text") or "").strip()
            result = forward_customer_message(tracker.sender_id, channel_of(tracker), text,
                                              HandoffSettings.from_env())
        except StoreError:
            logger.exception("customer message not forwarded: the CRM store is unavailable")
            result = "not_delivered"
        if result == "closed":
            dispatcher.utter_message(response="utter_handoff_ended")
            return [SlotSet("handoff_active", False), SlotSet("handoff_case_id", None)]
        if result == "not_delivered":
            dispatcher.utter_message(response="utter_handoff_message_not_delivered")
        return []


class ActionRelayAgentMessage(Action):
    """Say the agent's Slack reply (sent as EXTERNAL_agent_message) in the customer's chat."""

    def name(self) -> str:
        return "action_relay_agent_message"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        text = next(
            (str(entity.get("value")) for entity in tracker.latest_message.get("entities", [])
             if entity.get("entity") == AGENT_MESSAGE_ENTITY and entity.get("value")),
            "",
        )
        if text:
            dispatcher.utter_message(text=text)  # the agent's own words, as written
        return []


class ActionHandoffEnd(Action):
    """The agent ended the handoff (the Slack app closed the case): the bot takes over again."""

    def name(self) -> str:
        return "action_handoff_end"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        case_id = tracker.get_slot("handoff_case_id")
        dispatcher.utter_message(response="utter_handoff_ended")
        return [SlotSet("handoff_active", False), SlotSet("handoff_case_id", None),
                SlotSet("csat_case_id", case_id)]


class ActionCoreFallback(Action):
    """Rasa's core fallback (no rule knows what to do next): one polite reply, and the message
    is taken back so it cannot trigger anything else; never a handoff."""

    def name(self) -> str:
        return "action_core_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        logger.info("core fallback in conversation %s (intent %s)", tracker.sender_id,
                    latest_intent(tracker))
        dispatcher.utter_message(response="utter_core_fallback")
        return [UserUtteranceReverted()]
