"""Language of a short customer message: English, Swedish, Norwegian bokmål or Chinese.

    detect_language("var är mitt paket?")  -> "sv"
    detect_language("ok")                  -> "en"   (too short to tell: the default)

lingua-language-detector restricted to the four languages the knowledge base is written in
(built lazily, once per process). Order numbers, e-mail addresses, links and digits are removed
first; text with too few letters, or a guess below `min_confidence`, gives the default. Any Han
character makes the message Chinese: the other three languages never use them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "sv", "nb", "zh")
DEFAULT_LANGUAGE = "en"
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.5

_NOISE = re.compile(
    r"https?://\S+|www\.\S+|\S+@\S+|\b[Aa]\d{5}\b|[\d_]+",
)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.ENGLISH, Language.SWEDISH, Language.BOKMAL, Language.CHINESE
    ).build()


def _code(language: Any) -> str:
    code = str(language.iso_code_639_1.name).lower()
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


def language_confidences(text: str) -> dict[str, float]:
    """Confidence per supported language (summing to 1, or all 0 for text without letters)."""
    cleaned = _NOISE.sub(" ", text or "")
    values = _detector().compute_language_confidence_values(cleaned)
    return {_code(value.language): float(value.value) for value in values}


def detect_language(
    text: str | None,
    *,
    default: str = DEFAULT_LANGUAGE,
    min_confidence: float = MIN_CONFIDENCE,
) -> str:
    """The message's language code in SUPPORTED_LANGUAGES, or `default` when unsure."""
    if default not in SUPPORTED_LANGUAGES:
        raise ValueError(f"default language {default!r} is not one of {SUPPORTED_LANGUAGES}")
    cleaned = _NOISE.sub(" ", text or "").strip()
    if _HAN.search(cleaned):
        return "zh"
    if len(_LETTER.findall(cleaned)) < MIN_LETTERS:
        return default
    confidences = language_confidences(cleaned)
    if not confidences:
        return default
    best, score = max(confidences.items(), key=lambda item: item[1])
    return best if score >= min_confidence else default
