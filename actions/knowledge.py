"""Knowledge fallback: answer a message no intent covers from the public knowledge articles.

Flow (rules in data/rules/knowledge.yml):
- `action_knowledge_search` runs when NLU falls back. It detects the message's language
  (nlu.language), searches `kb serve` for public articles in that language and, above
  KB_MIN_SCORE, answers with the best passage and its article link and asks whether it helped.
  Below the threshold it continues with Rasa's two-stage fallback. For Swedish, Norwegian and
  Chinese it also says, in that language, that a colleague can help in that language.
- `action_knowledge_feedback` handles the yes/no to "did that help?"; "no" asks the customer to
  rephrase (slot kb_declined); if the rephrased message is not understood either,
  `action_knowledge_search` offers a person (slot kb_offered_human; "yes" -> handoff rule).
- The knowledge service being down gets a polite message, is logged, and the two-stage fallback
  continues.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from kb_index.client import HttpKnowledgeClient
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.settings import KbSettings
from kb_index.types import Hit, KnowledgeSearch
from nlu.language import DEFAULT_LANGUAGE, detect_language

logger = logging.getLogger(__name__)

TWO_STAGE_FALLBACK = "action_two_stage_fallback"
MAX_PASSAGE_CHARS = 600
SEARCH_K = 3

# Everything the knowledge fallback says, per language (the articles' languages).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "answer": "This article might help: {title}\n\n{passage}\n\nRead more: {url}",
        "helped": "Did that answer your question?",
        "yes": "Yes",
        "no": "No",
        "glad": "Great, glad that helped! Anything else I can do for you?",
        "not_helped": "Sorry that didn't help.",
        "rephrase": "Could you tell me a bit more, in other words?",
        "offer_human": (
            "Would you like me to put you in touch with one of our customer service colleagues?"
        ),
        "unavailable": "Sorry, I can't search our help articles right now.",
        "human_in_language": "",
    },
    "sv": {
        "answer": "Den här artikeln kan hjälpa dig: {title}\n\n{passage}\n\nLäs mer: {url}",
        "helped": "Besvarade det din fråga?",
        "yes": "Ja",
        "no": "Nej",
        "glad": "Vad bra att det hjälpte! Kan jag hjälpa dig med något mer?",
        "not_helped": "Tyvärr, det hjälpte inte.",
        "rephrase": "Kan du berätta lite mer, med andra ord?",
        "offer_human": (
            "Vill du att jag kopplar dig till någon av våra kollegor på kundservice?"
        ),
        "unavailable": "Tyvärr kan jag inte söka i våra hjälpartiklar just nu.",
        "human_in_language": (
            "Du kan också prata med en av våra kollegor på svenska: skriv \"prata med en "
            "människa\" så kopplar jag dig vidare."
        ),
    },
    "nb": {
        "answer": "Denne artikkelen kan hjelpe deg: {title}\n\n{passage}\n\nLes mer: {url}",
        "helped": "Svarte det på spørsmålet ditt?",
        "yes": "Ja",
        "no": "Nei",
        "glad": "Så bra at det hjalp! Er det noe mer jeg kan hjelpe deg med?",
        "not_helped": "Beklager at det ikke hjalp.",
        "rephrase": "Kan du fortelle litt mer, med andre ord?",
        "offer_human": (
            "Vil du at jeg setter deg i kontakt med en av våre kolleger i kundeservice?"
        ),
        "unavailable": "Beklager, jeg kan ikke søke i hjelpeartiklene våre akkurat nå.",
        "human_in_language": (
            "Du kan også snakke med en av våre kolleger på norsk: skriv \"snakke med et "
            "menneske\" så setter jeg deg over."
        ),
    },
    "zh": {
        "answer": "這篇文章也許能幫到您：{title}\n\n{passage}\n\n了解更多：{url}",
        "helped": "這有回答您的問題嗎？",
        "yes": "有",
        "no": "沒有",
        "glad": "很高興能幫上忙！還有什麼我可以為您做的嗎？",
        "not_helped": "很抱歉，這沒有幫上忙。",
        "rephrase": "可以換個說法，多告訴我一些嗎？",
        "offer_human": (
            "需要我為您轉接客服同事嗎？"
        ),
        "unavailable": "很抱歉，我現在無法搜尋我們的說明文章。",
        "human_in_language": (
            "我們的客服同事也可以用中文為您服務：請輸入「真人客服」，我會為您轉接。"
        ),
    },
}


@dataclass(frozen=True)
class KnowledgeAnswer:
    """The passage shown to the customer, from a public article."""

    article_id: str
    title: str
    passage: str
    url: str
    language: str
    score: float


def message(language: str, key: str) -> str:
    return MESSAGES.get(language, MESSAGES[DEFAULT_LANGUAGE])[key]


def _shorten(passage: str, limit: int = MAX_PASSAGE_CHARS) -> str:
    text = " ".join(passage.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def find_answer(
    search: KnowledgeSearch, text: str, *, language: str, min_score: float
) -> KnowledgeAnswer | None:
    """The best public, current passage in the customer's language scoring >= min_score.

    Raises KnowledgeUnavailable when the service cannot be reached.
    """
    try:
        hits = search.search(text, k=SEARCH_K, lang=language, audience=("public",))
    except InvalidQuery:
        logger.info("knowledge search refused the query (%s characters)", len(text))
        return None
    usable: list[Hit] = [
        hit for hit in hits
        if hit.audience == "public" and not hit.stale and hit.score >= min_score
    ]
    if not usable:
        return None
    best = max(usable, key=lambda hit: hit.score)
    return KnowledgeAnswer(
        article_id=best.article_id,
        title=best.title,
        passage=_shorten(best.passage),
        url=best.url,
        language=best.language,
        score=best.score,
    )


@lru_cache(maxsize=1)
def knowledge_client() -> HttpKnowledgeClient:
    return HttpKnowledgeClient.from_env()


def _latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "").strip()


def _say_human_in_language(dispatcher: CollectingDispatcher, language: str) -> None:
    note = message(language, "human_in_language")
    if note:
        dispatcher.utter_message(text=note)


def answer_from_knowledge(
    dispatcher: CollectingDispatcher,
    text: str,
    *,
    search: KnowledgeSearch,
    min_score: float,
) -> list[EventType]:
    """Answer `text` from the knowledge base, or hand over to the two-stage fallback."""
    language = detect_language(text)
    events: list[EventType] = [SlotSet("customer_language", language)]
    try:
        answer = find_answer(search, text, language=language, min_score=min_score)
    except KnowledgeUnavailable:
        logger.exception("knowledge fallback: the knowledge service is unavailable")
        dispatcher.utter_message(text=message(language, "unavailable"))
        _say_human_in_language(dispatcher, language)
        return [*events, SlotSet("kb_article_id", None), FollowupAction(TWO_STAGE_FALLBACK)]
    if answer is None:
        logger.info("knowledge fallback: no passage above %.2f (language %s)", min_score, language)
        _say_human_in_language(dispatcher, language)
        return [*events, SlotSet("kb_article_id", None), FollowupAction(TWO_STAGE_FALLBACK)]
    logger.info("knowledge fallback: article %s (score %.2f)", answer.article_id, answer.score)
    dispatcher.utter_message(
        text=message(language, "answer").format(
            title=answer.title, passage=answer.passage, url=answer.url
        )
    )
    _say_human_in_language(dispatcher, language)
    dispatcher.utter_message(
        text=message(language, "helped"),
        buttons=[
            {"title": message(language, "yes"), "payload": "/affirm"},
            {"title": message(language, "no"), "payload": "/deny"},
        ],
    )
    return [
        *events,
        SlotSet("kb_article_id", answer.article_id),
        SlotSet("kb_offered_human", False),
    ]


class ActionKnowledgeSearch(Action):
    """NLU fell back: look for an answer in the public knowledge articles."""

    def name(self) -> str:
        return "action_knowledge_search"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = _latest_text(tracker)
        if not text:
            return [FollowupAction(TWO_STAGE_FALLBACK)]
        if tracker.get_slot("kb_declined"):
            language = str(tracker.get_slot("customer_language") or detect_language(text))
            dispatcher.utter_message(text=message(language, "offer_human"))
            _say_human_in_language(dispatcher, language)
            return [SlotSet("kb_declined", False), SlotSet("kb_offered_human", True)]
        return answer_from_knowledge(
            dispatcher,
            text,
            search=knowledge_client(),
            min_score=KbSettings.from_env().min_score,
        )


class ActionKnowledgeFeedback(Action):
    """The customer said whether the knowledge answer helped."""

    def name(self) -> str:
        return "action_knowledge_feedback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = str(tracker.get_slot("customer_language") or DEFAULT_LANGUAGE)
        intent = str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")
        events: list[EventType] = [SlotSet("kb_article_id", None)]
        if intent == "affirm":
            dispatcher.utter_message(text=message(language, "glad"))
            return events
        dispatcher.utter_message(text=message(language, "not_helped"))
        dispatcher.utter_message(text=message(language, "rephrase"))
        return [*events, SlotSet("kb_declined", True)]
