"""A Rasa 3.6 NLU component that sends non-English messages to the knowledge fallback.

    - name: FallbackClassifier
      threshold: 0.4
    - name: nlu.language_gate.LanguageFallbackGate   # after FallbackClassifier
      languages: [sv, nb, zh]
      min_words: 2
      min_letters: 8

The intents are trained on English examples only, so a Swedish, Norwegian or Chinese message
must not be read as an English intent. This component detects the message's language
(nlu.language), adds it to the parse data as `language`, and for the configured languages turns
the intent into `nlu_fallback`, so the knowledge fallback answers it in that language. Messages
too short to tell (fewer than `min_words` words or `min_letters` letters; Chinese needs no spaces)
keep their intent, so "ja", "nej" and order numbers are unaffected.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from nordvik.languages import LANGUAGES, detect_language

logger = logging.getLogger(__name__)

LANGUAGE_KEY = "language"
_LETTER = re.compile(r"[^\W\d_]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageFallbackGate(GraphComponent, IntentClassifier):
    """Non-English messages become nlu_fallback; every message gets a `language`."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"languages": ["sv", "nb", "zh"], "min_words": 2, "min_letters": 8}

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = {**self.get_default_config(), **config}
        languages = self.config["languages"]
        if not isinstance(languages, list) or not set(languages) <= set(LANGUAGES):
            raise InvalidConfigException(
                f"LanguageFallbackGate: languages must be a list from {LANGUAGES}, "
                f"got {languages!r}"
            )
        for key in ("min_words", "min_letters"):
            value = self.config[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidConfigException(
                    f"LanguageFallbackGate: {key} must be a non-negative integer, got {value!r}"
                )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LanguageFallbackGate:
        return cls(config)

    def _long_enough(self, text: str) -> bool:
        letters = len(_LETTER.findall(text))
        if _HAN.search(text):
            return letters >= 2
        return len(text.split()) >= self.config["min_words"] and letters >= self.config[
            "min_letters"
        ]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = str(message.get(TEXT) or "")
            language = detect_language(text) if self._long_enough(text) else "en"
            message.set(LANGUAGE_KEY, language, add_to_output=True)
            if language not in self.config["languages"]:
                continue
            intent = message.get(INTENT) or {}
            if intent.get("name") == DEFAULT_NLU_FALLBACK_INTENT_NAME:
                continue
            ranking = list(message.get(INTENT_RANKING_KEY) or [])
            fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}
            message.set(INTENT, fallback, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [fallback, *ranking], add_to_output=True)
            logger.debug("message in %s: intent set to %s", language, fallback["name"])
        return messages
