"""The pipeline's steps that read the text itself: words, order numbers and e-mail addresses,
and the message's language. Three Rasa 3.6 components for English, Swedish, Norwegian and
Chinese, in config.yml's order:

    - name: nlu.reading.MultilingualTokenizer
      fold_diacritics: true
    ...
    - name: nlu.reading.OrderEmailExtractor
    ...
    - name: nlu.reading.LanguageDetector

Words (MultilingualTokenizer). The text is NFKC-normalised first (full-width `Ａ１２３４５` becomes
`A12345`, nordvik.text). Runs of Han characters are segmented with jieba (its bundled dictionary,
loaded lazily, once per process); everything else is split into words of letters and digits,
keeping e-mail addresses, decimals and words joined by an apostrophe or hyphen whole. An order
number glued to Chinese ("我的訂單A12345到哪了") becomes its own token. Token texts are the
normalised words; their start and end are offsets into the text as typed, so entity annotations
still line up. With `fold_diacritics: true` each token's lemma, which Rasa's
CountVectorsFeaturizer counts by default (`use_lemma`), is the word without its marks
(nordvik.text.fold_diacritics): "beställning" and "bestallning", typed on a keyboard without å,
ä, ö, æ or ø, get the same word and character n-gram features. Token texts, offsets and entities
are unchanged, and the sentence encoder reads the message as typed.

Order numbers and e-mail addresses (OrderEmailExtractor, find_entities). Entities `order_number`
(value canonical: "A12345") and `email` (the address as typed, full-width forms made ASCII),
found with the project's one rule for each (nordvik.orders, nordvik.text) on the
NFKC-normalised text, so an order number glued to Chinese or typed full-width ("Ａ１２３４５") is
found. start and end are offsets into the text as typed. An order number that is part of an
e-mail address ("a12345@example.com") is not an order number.

The message's language (LanguageDetector). `parse_data["language"]` is "en", "sv", "nb" or "zh"
(nordvik.languages.detect_language_or_none), or None when the message is too short or too
ambiguous to tell: "ok", "ja", "5", an order number, an e-mail address. The dialogue keeps the
conversation's language and changes it only on a detected language, so short replies never
switch it. The intent is left alone: the classifier is trained on all four languages.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nordvik.languages import MIN_CONFIDENCE, MIN_LETTERS, detect_language_or_none
from nordvik.orders import iter_order_numbers
from nordvik.text import fold_diacritics, iter_emails, normalize_with_offsets, original_span

logger = logging.getLogger(__name__)

# --- words: MultilingualTokenizer ------------------------------------------------------------

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_CHAR = rf"[^\W_{HAN}]"
_TOKEN = re.compile(
    rf"(?P<han>[{HAN}]+)"
    rf"|(?P<word>{_WORD_CHAR}+(?:[._%+\-'’@]{_WORD_CHAR}+)*)"
)

_jieba: Any = None
_jieba_lock = threading.Lock()


def _segmenter() -> Any:
    """jieba's default tokenizer, initialised once per process (about a second)."""
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            import jieba  # noqa: PLC0415 - heavy (~1 s import); only Han text needs it

            jieba.setLogLevel(logging.WARNING)
            segmenter = jieba.Tokenizer()
            segmenter.initialize()
            _jieba = segmenter
        return _jieba


def segment_han(run: str) -> list[str]:
    """Words of a run of Han characters (jieba, HMM on for unknown words)."""
    return [word for word in _segmenter().lcut(run, HMM=True) if word.strip()]


def split_words(text: str) -> list[tuple[str, int, int]]:
    """(word, start, end) for each word of `text`; word normalised, offsets into `text`."""
    normalized, offsets = normalize_with_offsets(text)
    words: list[tuple[str, int, int]] = []
    for match in _TOKEN.finditer(normalized):
        if match.lastgroup == "word":
            start, end = original_span(offsets, match.start(), match.end())
            words.append((match.group(0), start, end))
            continue
        position = match.start()
        for piece in segment_han(match.group(0)):
            start, end = original_span(offsets, position, position + len(piece))
            words.append((piece, start, end))
            position += len(piece)
    return words


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MultilingualTokenizer(Tokenizer):
    """Whitespace-free tokenisation for Chinese, word tokenisation for the rest, on NFKC text."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
            "fold_diacritics": False,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["jieba"]

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MultilingualTokenizer:
        merged = {**cls.get_default_config(), **config}
        if not isinstance(merged["fold_diacritics"], bool):
            raise InvalidConfigException(
                f"MultilingualTokenizer: fold_diacritics must be true or false, "
                f"got {merged['fold_diacritics']!r}"
            )
        return cls(merged)

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        text = str(message.get(attribute) or "")
        fold = self._config.get("fold_diacritics", False)
        tokens = [Token(word, start, end, lemma=fold_diacritics(word) if fold else None)
                  for word, start, end in split_words(text)]
        if not tokens:
            # Only punctuation or emoji ("??", ":)"): the whole text is one token, as in
            # Rasa's WhitespaceTokenizer, so featurizers always have something to look at.
            stripped = text.strip()
            start = text.find(stripped) if stripped else 0
            tokens = [Token(stripped, start, start + len(stripped))]
        return self._apply_token_pattern(tokens)


# --- order numbers and e-mail addresses: OrderEmailExtractor ---------------------------------

ORDER_NUMBER = "order_number"
EMAIL = "email"


def find_entities(text: str) -> list[dict[str, Any]]:
    """order_number and email entities in `text`, ordered by position."""
    normalized, offsets = normalize_with_offsets(text)
    entities: list[dict[str, Any]] = []
    emails: list[tuple[int, int]] = []
    for start, end, address in iter_emails(normalized):
        first, last = original_span(offsets, start, end)
        emails.append((first, last))
        entities.append({
            ENTITY_ATTRIBUTE_TYPE: EMAIL, ENTITY_ATTRIBUTE_START: first,
            ENTITY_ATTRIBUTE_END: last, ENTITY_ATTRIBUTE_VALUE: address,
        })
    # nordvik.orders reads the text as typed (its own NFKC, offsets into `text`); it keeps
    # control characters, so junk such as "a\x0012345" never becomes an order number.
    for start, end, number in iter_order_numbers(text):
        if any(s <= start and end <= e for s, e in emails):
            continue
        entities.append({
            ENTITY_ATTRIBUTE_TYPE: ORDER_NUMBER, ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end, ENTITY_ATTRIBUTE_VALUE: number,
        })
    return sorted(entities, key=lambda entity: int(entity[ENTITY_ATTRIBUTE_START]))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class OrderEmailExtractor(GraphComponent, EntityExtractorMixin):
    """order_number and email from nordvik.orders and nordvik.text, in every language."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OrderEmailExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            found = self.add_extractor_name(find_entities(text))
            if found:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found],
                            add_to_output=True)
        return messages


# --- the message's language: LanguageDetector ------------------------------------------------

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
