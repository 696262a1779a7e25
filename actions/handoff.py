"""Live human handoff to Slack: start it, forward the customer's messages, relay the agent's.

The logic (Slack posts, transcript, Block Kit, Rasa trigger) lives in the handoff package
(handoff/relay.py); the case lives in the CRM store. These actions read slots, call those,
utter and return events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from slack_sdk.errors import SlackApiError, SlackClientError

from handoff.relay import (
    AGENT_MESSAGE_ENTITY,
    HandoffContext,
    HandoffSettings,
    expected_wait,
    handoff_blocks,
    handoff_fallback_text,
    transcript_from_events,
)
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)

CHANNEL = "chat"
REASONS = {
    "request_human": "the customer asked for a person",
    "complaint": "complaint",
    "nlu_fallback": "the bot did not understand the customer twice",
    "affirm": "three failed order verifications; the customer accepted a person",
}


def handoff_reason(tracker: Tracker) -> str:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if tracker.get_slot("verification_locked"):
        return REASONS["affirm"]
    return REASONS.get(str(intent), "the bot could not help")


def _latest_customer_text(tracker: Tracker) -> str:
    for event in reversed(tracker.events):
        text = event.get("text")
        if event.get("event") == "user" and text and not str(text).startswith(("/", "EXTERNAL_")):
            return str(text)
    return ""


def _suggestions(query: str) -> tuple[tuple[tuple[str, str, str], ...], str | None]:
    """Top 3 knowledge suggestions for the agent (public and internal articles)."""
    if not query.strip():
        return (), "no customer question to search for"
    from kb_index.client import HttpKnowledgeClient
    from kb_index.errors import InvalidQuery, KnowledgeUnavailable

    try:
        hits = HttpKnowledgeClient.from_env().search(query, k=3, audience=("public", "internal"))
    except (KnowledgeUnavailable, InvalidQuery):
        logger.warning("knowledge suggestions unavailable for a handoff", exc_info=True)
        return (), "knowledge index unavailable"
    return tuple((hit.title, hit.url, hit.passage) for hit in hits[:3]), None


class ActionHandoffToHuman(Action):
    """Open a handoff case, post it to Slack and tell the customer a person will answer."""

    def name(self) -> str:
        return "action_handoff_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        try:
            return start_handoff(dispatcher, tracker, HandoffSettings.from_env())
        except StoreError:
            logger.exception("handoff not started: the CRM store is unavailable")
            dispatcher.utter_message(response="utter_store_unavailable")
            return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionDefaultFallback(ActionHandoffToHuman):
    """Two-stage fallback exhausted (two failed understandings): hand off to a person."""

    def name(self) -> str:
        return "action_default_fallback"


def start_handoff(dispatcher: CollectingDispatcher, tracker: Tracker,
                  settings: HandoffSettings) -> list[EventType]:
    store = get_store()
    conversation_id = tracker.sender_id
    existing = store.find_open_handoff(conversation_id)
    if existing is not None:
        dispatcher.utter_message(response="utter_handoff_already_active", case_id=existing.id)
        return [SlotSet("handoff_active", True), SlotSet("handoff_case_id", existing.id)]

    order_number = tracker.get_slot("verified_order")
    order = store.get_order(order_number) if order_number else None
    customer_id = order.customer_id if order else None
    case = store.open_case(
        subject=f"Chat handoff: {handoff_reason(tracker)}", channel=CHANNEL,
        customer_id=customer_id, order_number=order.number if order else None,
        conversation_id=conversation_id, status="handoff",
    )
    leave_loop: list[EventType] = [ActiveLoop(None), SlotSet("requested_slot", None)]
    missing = settings.missing()
    if missing:
        logger.error("handoff case %s not posted to Slack: %s", case.id, missing)
        store.close_case(case.id, "not handed off: Slack handoff is not configured")
        dispatcher.utter_message(response="utter_handoff_unavailable", case_id=case.id)
        return leave_loop
    suggestions, note = _suggestions(_latest_customer_text(tracker))
    context = HandoffContext(
        case_id=case.id, conversation_id=conversation_id, reason=handoff_reason(tracker),
        customer=order.customer_name if order else None,
        order_summary=_order_summary(order) if order else None,
        transcript=tuple(transcript_from_events(tracker.events)),
        suggestions=suggestions, suggestions_note=note,
    )
    try:
        posted = settings.slack_client().chat_postMessage(
            channel=settings.channel, text=handoff_fallback_text(context),
            blocks=handoff_blocks(context), unfurl_links=False,
        )
        thread_ts = str(posted["ts"])
        store.attach_slack_thread(case.id, str(posted.get("channel") or settings.channel),
                                  thread_ts)
    except (SlackApiError, SlackClientError, OSError, KeyError):
        logger.exception("handoff case %s could not be posted to Slack", case.id)
        store.close_case(case.id, "not handed off: Slack unavailable; follow up by e-mail")
        dispatcher.utter_message(response="utter_handoff_unavailable", case_id=case.id)
        return leave_loop
    wait = expected_wait(datetime.now(timezone.utc), settings.expected_wait_minutes,
                         tracker.get_slot("customer_language"))
    dispatcher.utter_message(response="utter_handoff_started", case_id=case.id, wait=wait)
    logger.info("conversation handed off as case %s", case.id)
    return [*leave_loop, SlotSet("handoff_active", True), SlotSet("handoff_case_id", case.id)]


def _order_summary(order: Any) -> str:
    parts = [f"{order.number}: {order.status}"]
    shipment = getattr(order, "shipment", None)
    if shipment is not None:
        parts.append(f"{shipment.carrier} {shipment.tracking_number}")
    if getattr(order, "eta", None):
        parts.append(f"ETA {order.eta}")
    return ", ".join(parts)


class ActionForwardToAgent(Action):
    """While a handoff is active, post the customer's message to the case's Slack thread."""

    def name(self) -> str:
        return "action_forward_to_agent"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        settings = HandoffSettings.from_env()
        try:
            store = get_store()
            case = store.find_open_handoff(tracker.sender_id)
        except StoreError:
            logger.exception("customer message not forwarded: the CRM store is unavailable")
            dispatcher.utter_message(response="utter_handoff_message_not_delivered")
            return []
        if case is None or not case.slack_thread_ts:
            # The agent closed the case while the chat server was away: the CRM decides.
            dispatcher.utter_message(response="utter_handoff_ended")
            return [SlotSet("handoff_active", False), SlotSet("handoff_case_id", None)]
        text = str(tracker.latest_message.get("text") or "")
        try:
            store.record_interaction(conversation_id=tracker.sender_id, channel=CHANNEL,
                                     direction="in", text=text, customer_id=case.customer_id,
                                     order_number=case.order_number)
        except StoreError:
            logger.exception("customer message of case %s not recorded as an interaction",
                             case.id)
        try:
            settings.slack_client().chat_postMessage(
                channel=case.slack_channel or settings.channel, thread_ts=case.slack_thread_ts,
                text=f"Customer: {text}", unfurl_links=False,
            )
        except (SlackApiError, SlackClientError, OSError):
            logger.exception("customer message for case %s not posted to Slack", case.id)
            dispatcher.utter_message(response="utter_handoff_message_not_delivered")
        return []


class ActionRelayAgentMessage(Action):
    """Say the agent's Slack reply (sent as EXTERNAL_agent_message) in the customer's chat."""

    def name(self) -> str:
        return "action_relay_agent_message"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        text = next(
            (str(entity.get("value")) for entity in tracker.latest_message.get("entities", [])
             if entity.get("entity") == AGENT_MESSAGE_ENTITY and entity.get("value")),
            "",
        )
        if text:
            dispatcher.utter_message(text=text)
        return []


class ActionHandoffEnd(Action):
    """The agent ended the handoff (the Slack app closed the case): the bot takes over again."""

    def name(self) -> str:
        return "action_handoff_end"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Mapping[str, Any]) -> list[EventType]:
        case_id = tracker.get_slot("handoff_case_id")
        dispatcher.utter_message(response="utter_handoff_ended")
        return [SlotSet("handoff_active", False), SlotSet("handoff_case_id", None),
                SlotSet("csat_case_id", case_id)]
