"""FaqTopicGate: `faq` with an unsure ResponseSelector topic goes to the knowledge fallback."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message

from nlu.faq_gate import FaqTopicGate


def _message(intent: str, topic_confidence: float | None) -> Message:
    ranking = [{"name": intent, "confidence": 0.95}, {"name": "greet", "confidence": 0.05}]
    data: dict[str, Any] = {"text": "is your packaging recyclable?", "intent": ranking[0],
                            "intent_ranking": ranking}
    if topic_confidence is not None:
        data["response_selector"] = {"faq": {"response": {
            "intent_response_key": "faq/contact_hours", "confidence": topic_confidence}}}
    return Message(data=data)


def test_unsure_faq_topic_becomes_nlu_fallback() -> None:
    [message] = FaqTopicGate({"threshold": 0.4}).process([_message("faq", 0.22)])
    assert message.get("intent") == {"name": "nlu_fallback", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["nlu_fallback", "faq", "greet"]
    assert "intent" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    ("intent", "topic_confidence"),
    [("faq", 0.4), ("faq", 0.98), ("faq", None), ("check_order_status", 0.1)],
)
def test_sure_topics_other_intents_and_no_selector_are_unchanged(
    intent: str, topic_confidence: float | None
) -> None:
    [message] = FaqTopicGate({"threshold": 0.4}).process([_message(intent, topic_confidence)])
    assert message.get("intent") == {"name": intent, "confidence": 0.95}
    assert len(message.get("intent_ranking")) == 2


@pytest.mark.parametrize(
    "config", [{"threshold": 1.5}, {"threshold": "high"}, {"threshold": True},
               {"retrieval_intent": ""}],
)
def test_bad_config_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfigException, match="FaqTopicGate"):
        FaqTopicGate(config)
