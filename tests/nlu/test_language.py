"""LanguageDetector: every message carries its language, or None when it cannot be told."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message

from nlu.reading import LanguageDetector


def _detect(text: Any) -> Message:
    intent = {"name": "check_order_status", "confidence": 0.8}
    [message] = LanguageDetector({}).process(
        [Message(data={"text": text, "intent": intent, "intent_ranking": [intent]})]
    )
    return message


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("var är mitt paket?", "sv"),
        ("jeg vil kansellere bestillingen min", "nb"),
        ("我想退貨", "zh"),
        ("我的訂單A12345到哪了", "zh"),
        ("where is my parcel?", "en"),
    ],
)
def test_language_is_in_the_output_and_the_intent_is_left_alone(text: str, language: str
                                                                ) -> None:
    message = _detect(text)
    assert message.get("language") == language
    assert message.get("intent")["name"] == "check_order_status"
    output = message.as_dict(only_output_properties=True)
    assert output["language"] == language
    assert "language" not in [e.get("entity") for e in output.get("entities", [])]


@pytest.mark.parametrize("text", ["ok", "ja", "5", "A12345", "anna@example.com", "", "👍"])
def test_short_or_ambiguous_messages_have_no_language(text: str) -> None:
    message = _detect(text)
    assert message.get("language") is None
    assert "language" in message.output_properties
    # Rasa drops None values from the parse data: no key means "cannot tell".
    assert "language" not in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"min_confidence": 2}, "min_confidence must be a number from 0 to 1"),
        ({"min_confidence": "high"}, "min_confidence must be a number from 0 to 1"),
        ({"min_letters": -1}, "min_letters must be a non-negative integer"),
    ],
)
def test_bad_config_is_rejected(config: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidConfigException, match=error):
        LanguageDetector(config)
