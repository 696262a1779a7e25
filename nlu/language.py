"""A Rasa 3.6 component that adds the message's detected language to the parse data.

    - name: nlu.language.LanguageDetector

`parse_data["language"]` is "en", "sv", "nb" or "zh" (nordvik.languages.detect_language_or_none),
or None when the message is too short or too ambiguous to tell: "ok", "ja", "5", an order number,
an e-mail address. The dialogue keeps the conversation's language and changes it only on a
detected language, so short replies never switch it. The intent is left alone: the classifier is
trained on all four languages.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from nordvik.languages import MIN_CONFIDENCE, MIN_LETTERS, detect_language_or_none

logger = logging.getLogger(__name__)

LANGUAGE_KEY = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageDetector(GraphComponent):
    """Sets `language` (a code or None) on every message; changes nothing else."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"min_confidence": MIN_CONFIDENCE, "min_letters": MIN_LETTERS, "warm_up": True}

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = {**self.get_default_config(), **config}
        confidence = self.config["min_confidence"]
        if (
            not isinstance(confidence, (int, float))
            or isinstance(confidence, bool)
            or not 0.0 <= confidence <= 1.0
        ):
            raise InvalidConfigException(
                f"LanguageDetector: min_confidence must be a number from 0 to 1, "
                f"got {confidence!r}"
            )
        letters = self.config["min_letters"]
        if not isinstance(letters, int) or isinstance(letters, bool) or letters < 0:
            raise InvalidConfigException(
                f"LanguageDetector: min_letters must be a non-negative integer, got {letters!r}"
            )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageDetector:
        component = cls(config)
        if component.config["warm_up"]:
            # The detector's language models load on first use (about a second): pay that when
            # the model loads, not in a customer's first turn.
            component.detect("warm up the language detector")
        return component

    def detect(self, text: str) -> str | None:
        return detect_language_or_none(
            text,
            min_confidence=float(self.config["min_confidence"]),
            min_letters=int(self.config["min_letters"]),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            language = self.detect(text) if isinstance(text, str) else None
            message.set(LANGUAGE_KEY, language, add_to_output=True)
        return messages
