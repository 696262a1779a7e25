"""The customer asks for another language: "in English please", "på svenska", "請用中文"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import SLOT_LANGUAGE, latest_text
from nordvik.languages import requested_language


class ActionChangeLanguage(Action):
    """Set the conversation's language to the one asked for, then utter_language_changed confirms
    in it (a follow-up action: it runs once the slot is set). A language the bot does not write
    is said to be unsupported, and nothing changes."""

    def name(self) -> str:
        return "action_change_language"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: Mapping[str, Any]) -> list[EventType]:
        wanted = requested_language(latest_text(tracker))
        if wanted is None:
            dispatcher.utter_message(response="utter_language_unsupported")
            return []
        return [SlotSet(SLOT_LANGUAGE, wanted), FollowupAction("utter_language_changed")]
