"""LanguageFallbackGate: non-English messages go to the knowledge fallback."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message

from nlu.language_gate import LanguageFallbackGate


def _message(text: str) -> Message:
    ranking = [{"name": "order_status", "confidence": 0.8}, {"name": "greet", "confidence": 0.2}]
    return Message(data={"text": text, "intent": ranking[0], "intent_ranking": ranking})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("var är mitt paket just nu", "sv"),
        ("hvor er pakken min nå", "nb"),
        ("我的包裹在哪裡", "zh"),
    ],
)
def test_non_english_messages_become_nlu_fallback(text: str, language: str) -> None:
    [message] = LanguageFallbackGate({}).process([_message(text)])
    assert message.get("language") == language
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert [r["name"] for r in ranking] == ["nlu_fallback", "order_status", "greet"]
    assert "language" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize("text", ["where is my parcel right now", "ja", "nej", "A10234", ""])
def test_english_and_short_messages_keep_their_intent(text: str) -> None:
    [message] = LanguageFallbackGate({}).process([_message(text)])
    assert message.get("intent")["name"] == "order_status"
    assert message.get("language") == "en"


def test_configured_languages_only() -> None:
    [message] = LanguageFallbackGate({"languages": ["zh"]}).process(
        [_message("var är mitt paket just nu")]
    )
    assert message.get("language") == "sv"
    assert message.get("intent")["name"] == "order_status"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"languages": ["de"]}, "languages must be a list"),
        ({"languages": "sv"}, "languages must be a list"),
        ({"min_words": -1}, "min_words must be a non-negative integer"),
    ],
)
def test_bad_config_is_rejected(config: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidConfigException, match=error):
        LanguageFallbackGate(config)
