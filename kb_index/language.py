"""Query language detection, restricted to the index's languages (built lazily, once)."""

from __future__ import annotations

import re
import threading
from typing import Any

from kb_index.types import LANGUAGES

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_detector: Any = None
_lock = threading.Lock()
_CODES: dict[str, str] = {}


def _get_detector() -> Any:
    global _detector
    with _lock:
        if _detector is None:
            from lingua import Language, LanguageDetectorBuilder

            languages = [Language.ENGLISH, Language.SWEDISH, Language.BOKMAL, Language.CHINESE]
            _CODES.update(
                {
                    Language.ENGLISH.name: "en",
                    Language.SWEDISH.name: "sv",
                    Language.BOKMAL.name: "nb",
                    Language.CHINESE.name: "zh",
                }
            )
            _detector = LanguageDetectorBuilder.from_languages(*languages).build()
        return _detector


def detect_language(text: str, min_confidence: float = 0.5) -> str | None:
    """en, sv, nb or zh, or None when the text is too short or ambiguous to tell."""
    if _HAN.search(text):
        return "zh"
    if len(text.strip()) < 3:
        return None
    values = _get_detector().compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    code = _CODES.get(best.language.name)
    if code not in LANGUAGES or best.value < min_confidence:
        return None
    return code
