"""Language resources: spaCy blank pipelines with a sentencizer, Snowball stemmers, analysis.

Loaded lazily and once per language; nothing heavy happens at import time.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

import Stemmer

from kb_index.types import LANGUAGES

# spaCy's blank zh tokenizer cuts Latin words into characters, so Chinese text goes through
# the English rules and its Han runs are segmented into character bigrams below.
_SPACY_LANG = {"en": "en", "sv": "sv", "nb": "nb", "zh": "en"}
_STEMMER = {"en": "english", "sv": "swedish", "nb": "norwegian", "zh": "english"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORDISH = re.compile(r"\w", re.UNICODE)
_lock = threading.Lock()


@lru_cache(maxsize=8)
def sentence_pipeline(lang: str) -> Any:
    """A blank spaCy pipeline with a rule-based sentencizer for ``lang`` (en, sv, nb, zh)."""
    import spacy  # noqa: PLC0415 - heavy (pulls TensorFlow, ~1 GB); kb rollback needs none

    with _lock:
        nlp = spacy.blank(lang if lang in _SPACY_LANG else "en")
        nlp.add_pipe("sentencizer")
        return nlp


@lru_cache(maxsize=8)
def _tokenizer_pipeline(lang: str) -> Any:
    import spacy  # noqa: PLC0415 - heavy (pulls TensorFlow, ~1 GB); kb rollback needs none

    with _lock:
        return spacy.blank(_SPACY_LANG.get(lang, "en"))


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> Any:
    return Stemmer.Stemmer(_STEMMER.get(lang, "english"))


@lru_cache(maxsize=8)
def _stop_words(lang: str) -> frozenset[str]:
    import spacy  # noqa: PLC0415 - heavy (pulls TensorFlow, ~1 GB); kb rollback needs none

    with _lock:
        words = spacy.blank(lang if lang in _SPACY_LANG else "en").Defaults.stop_words
    # Chinese stop words are only used to drop single characters, never bigrams.
    return frozenset(w.lower() for w in words)


def split_sentences(text: str, lang: str) -> list[str]:
    doc = sentence_pipeline(lang)(text)
    return [s.text.strip() for s in doc.sents if s.text.strip()]


def analyze(text: str, lang: str) -> list[str]:
    """BM25 terms: spaCy tokens, lower-cased, stop words dropped, Snowball-stemmed;
    Han characters become unigrams plus overlapping bigrams."""
    nlp = _tokenizer_pipeline(lang)
    stemmer = _stemmer(lang)
    stops = _stop_words(lang)
    zh_stops = _stop_words("zh")
    terms: list[str] = []
    words: list[str] = []
    for token in nlp.tokenizer(text):
        raw = token.text
        if _HAN.search(raw):
            for piece in re.split(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)", raw):
                if not piece:
                    continue
                if _HAN.fullmatch(piece):
                    terms.extend(ch for ch in piece if ch not in zh_stops)
                    terms.extend(piece[i : i + 2] for i in range(len(piece) - 1))
                elif _WORDISH.search(piece):
                    words.append(piece.lower())
            continue
        if token.is_punct or token.is_space or not _WORDISH.search(raw):
            continue
        lowered = raw.lower()
        if lowered in stops:
            continue
        words.append(lowered)
    if words:
        terms.extend(stemmer.stemWords(words))
    return terms


def warm_up_languages() -> None:
    """Load every language's pipelines, stemmer and stop words (a long-running process does
    this once at start, so its first real request does not pay for it)."""
    for lang in LANGUAGES:
        split_sentences("Warm up. Two sentences.", lang)
        analyze("warm up", lang)
