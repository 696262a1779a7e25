"""A customer's 1-5 satisfaction rating, read the same way everywhere.

The action server reads the answer to its rating question with it (actions/csat.py), and the
analytics pipeline reads a rating typed into a conversation with it (analytics/facts.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nordvik.text import normalize

RATING_ENTITY = "csat_rating"
# Ratings typed as words ("five", "fem", "五"), in the four languages.
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "en": 1, "ett": 1, "två": 2, "tre": 3, "fyra": 4, "fem": 5,
    "ei": 1, "to": 2, "fire": 4,
    "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5,
}
_DIGIT = re.compile(r"(?<![0-9])([1-5])(?![0-9])")
_OUT_OF_FIVE = re.compile(r"\s*/\s*5(?![0-9])")
_WORD = re.compile(r"[a-zåäöæø]+|[一二兩两三四五]", re.IGNORECASE)


def parse_rating(latest_message: Mapping[str, Any]) -> int | None:
    """The 1-5 rating in a button payload's entity or a short typed answer ("4", "5 stars",
    "fyra", "五顆星"), or None."""
    for entity in latest_message.get("entities") or []:
        if entity.get("entity") == RATING_ENTITY:
            value = str(entity.get("value", "")).strip()
            return int(value) if value in {"1", "2", "3", "4", "5"} else None
    text = normalize(str(latest_message.get("text") or "")).strip().lower()
    if not text or len(text) > 40 or text.startswith("/"):
        return None
    scored = _OUT_OF_FIVE.sub("", text)  # "4/5", "3 / 5": the 5 is the scale, not a rating
    digits = _DIGIT.findall(scored)
    if len(set(digits)) == 1 and not re.search(r"[0-9]{2,}|[6-9]", scored):
        return int(digits[0])
    if digits or len(text.split()) > 2:  # a number word only in a short answer: "fem stjärnor"
        return None
    words = {_NUMBER_WORDS[w] for w in _WORD.findall(text) if w in _NUMBER_WORDS}
    return words.pop() if len(words) == 1 else None
