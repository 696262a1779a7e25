"""Suggested replies: clean the agent's text, search the knowledge index, record gaps.

Plain functions the listeners call; every outcome (suggestions, nothing good enough, bad input,
the index or the feedback database down) comes back as a Slack message dict, so no exception
text ever reaches an agent.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from bot.blocks.messages import notice
from bot.blocks.suggestions import ReplyTarget, no_match_message, suggestions_message
from bot.services import Services
from kb_index.errors import InvalidQuery, KnowledgeError, KnowledgeUnavailable
from kb_index.types import Hit
from nordvik.languages import detect_language_or_none

logger = logging.getLogger(__name__)

AUDIENCE = ("public", "internal")  # agents see internal guidance too
_MENTION = re.compile(r"<[@!#][^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

KB_UNAVAILABLE = (
    ":warning: The knowledge base is unavailable right now, so I cannot suggest a reply. "
    "Please try again in a minute; the error has been logged for the team."
)
EMPTY_QUERY = (
    "Please give me the customer's question, e.g. `/suggest How long does delivery to Norway "
    "take?`"
)


@dataclass(frozen=True)
class Suggestions:
    query: str
    hits: tuple[Hit, ...]
    truncated: bool


def clean_query(text: object) -> str:
    """The customer's question without Slack mentions, control characters or extra spaces."""
    if not isinstance(text, str):
        return ""
    text = _MENTION.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    return " ".join(text.split())


def combine_queries(previous: str, follow_up: str) -> str:
    """A follow-up refines the previous question: search both together."""
    previous, follow_up = clean_query(previous), clean_query(follow_up)
    if not previous:
        return follow_up
    if not follow_up:
        return previous
    return f"{previous} {follow_up}"


def find_suggestions(services: Services, text: object) -> Suggestions:
    """Top hits above KB_MIN_SCORE; raises InvalidQuery for an empty question."""
    settings = services.settings
    query = clean_query(text)
    if not query:
        raise InvalidQuery("empty question")
    truncated = len(query) > settings.max_query_chars
    if truncated:
        query = query[: settings.max_query_chars]
    hits = services.knowledge().search(query, k=max(settings.suggestions, 5), audience=AUDIENCE)
    good = tuple(h for h in hits if h.score >= settings.min_score)[: settings.suggestions]
    return Suggestions(query, good, truncated)


def record_gap(services: Services, query: str, source: str) -> None:
    """Tell editors nothing answered this question; a failure here is logged, not shown."""
    try:
        language = detect_language_or_none(query) or "unknown"
    except Exception:  # noqa: BLE001 (the language is a nicety; the gap matters)
        logger.exception("language detection failed for a content gap")
        language = "unknown"
    try:
        services.feedback().record_gap(query, source, language)
    except Exception:  # noqa: BLE001 (logged with traceback; the agent still gets an answer)
        logger.exception("could not record a content gap from %s", source)


def suggestion_reply(
    services: Services, text: object, *, source: str, target: ReplyTarget | None = None
) -> dict[str, Any]:
    """The message to show the agent for `text`, whatever happens."""
    try:
        found = find_suggestions(services, text)
    except InvalidQuery:
        if not clean_query(text):
            return notice(EMPTY_QUERY)
        logger.info("knowledge index refused a query from %s", source)
        return notice("I could not search for that question. Please shorten or rephrase it.")
    except KnowledgeUnavailable:
        logger.exception("knowledge index unavailable for %s", source)
        return notice(KB_UNAVAILABLE)
    except KnowledgeError:
        logger.exception("knowledge index error for %s", source)
        return notice(KB_UNAVAILABLE)
    if not found.hits:
        record_gap(services, found.query, source)
        return no_match_message(found.query)
    return suggestions_message(found.query, list(found.hits), source=source, target=target,
                               truncated=found.truncated)
