"""A Rasa 3.6 tokenizer for English, Swedish, Norwegian and Chinese in one pipeline.

    - name: nlu.tokenizers.MultilingualTokenizer

The text is NFKC-normalised first (full-width `Ａ１２３４５` becomes `A12345`, nordvik.text).
Runs of Han characters are segmented with jieba (its bundled dictionary, loaded lazily, once per
process); everything else is split into words of letters and digits, keeping e-mail addresses,
decimals and words joined by an apostrophe or hyphen whole. An order number glued to Chinese
("我的訂單A12345到哪了") becomes its own token. Token texts are the normalised words; their
start and end are offsets into the text as typed, so entity annotations still line up.

With `fold_diacritics: true` each token's lemma, which Rasa's CountVectorsFeaturizer counts by
default (`use_lemma`), is the word without its marks (nordvik.text.fold_diacritics): "beställning"
and "bestallning", typed on a keyboard without å, ä, ö, æ or ø, get the same word and character
n-gram features. Token texts, offsets and entities are unchanged, and the sentence encoder reads
the message as typed.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message

from nordvik.text import fold_diacritics, normalize_with_offsets, original_span

logger = logging.getLogger(__name__)

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
