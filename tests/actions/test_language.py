"""The customer asks for another language."""

from __future__ import annotations

import pytest
from rasa_sdk.events import FollowupAction, SlotSet

from actions.language import ActionChangeLanguage
from tests.actions.helpers import names, run
from tests.support.trackers import make_tracker


@pytest.mark.parametrize(("text", "language"), [
    ("in English please", "en"),
    ("kan du skriva på svenska?", "sv"),
    ("kan du snakke norsk", "nb"),
    ("請用中文", "zh"),
    ("Ｃｈｉｎｅｓｅ please", "zh"),
])
async def test_the_requested_language_is_set(text: str, language: str) -> None:
    tracker = make_tracker(intent="change_language", text=text, slots={"language": "en"})
    messages, events = await run(ActionChangeLanguage(), tracker)
    assert messages == []  # utter_language_changed follows, once the slot holds the language
    assert events == [SlotSet("language", language), FollowupAction("utter_language_changed")]


@pytest.mark.parametrize("text", ["auf Deutsch bitte", "en français", "English or Swedish?",
                                  "another language please"])
async def test_a_language_the_bot_does_not_write_is_unsupported(text: str) -> None:
    tracker = make_tracker(intent="change_language", text=text, slots={"language": "sv"})
    messages, events = await run(ActionChangeLanguage(), tracker)
    assert names(messages) == ["utter_language_unsupported"]
    assert events == []
