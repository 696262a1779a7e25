"""Knowledge fallback: answer a message no intent covers from the public knowledge articles.

Flow (rules in data/rules/knowledge.yml):
- `action_knowledge_search` runs when NLU falls back (a low-confidence English message, or any
  Swedish, Norwegian or Chinese message: nlu.language_gate). It detects the message's language
  (nlu.language), searches `kb serve` for public articles in that language and, above
  KB_MIN_SCORE, answers with the best passage and its article link and asks whether it helped
  (Yes / No / Talk to a person). For Swedish, Norwegian and Chinese it also says, in that
  language, that a colleague can help in that language. A Swedish, Norwegian or Chinese message
  that asks for a person (the intents are trained on English only) is logged again as
  `request_human`, and the handoff rules take over.
- Below the threshold, or with the knowledge service down (a polite message, logged), it
  continues with Rasa's two-stage fallback, whose questions actions/fallback.py words.
- `action_knowledge_feedback` handles the yes/no to "did that help?": "yes" ends politely; "no"
  asks the customer to put it another way (slot kb_declined). If that is not understood
  either, `action_knowledge_search` offers a person (slot kb_offered_human): "yes" goes to
  `action_handoff_to_human` by rule, "no" back to `action_knowledge_feedback`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    EventType,
    FollowupAction,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from kb_index.client import HttpKnowledgeClient
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.settings import KbSettings
from kb_index.types import Hit, KnowledgeSearch
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES, detect_language

logger = logging.getLogger(__name__)

TWO_STAGE_FALLBACK = "action_two_stage_fallback"
REQUEST_HUMAN = "request_human"

# A typed request for a person in the languages the intents are not trained on (the language
# gate sends every Swedish, Norwegian and Chinese message here): hand off instead of searching.
_PERSON_REQUEST = {
    "sv": re.compile(
        r"\b(prata|tala|chatta|snacka)\s+med\s+(en\s+)?(riktig\s+)?"
        r"(människa|person|handläggare|kundtjänst|kundservice|någon|er)\b"
        r"|\b(en\s+)?människa,?\s+tack\b",
        re.IGNORECASE,
    ),
    "nb": re.compile(
        r"\b(snakke|prate|chatte)\s+med\s+(et\s+|en\s+)?(ekte\s+)?"
        r"(menneske|person|saksbehandler|kundeservice|noen|dere)\b"
        r"|\b(et\s+)?menneske,?\s+takk\b",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"真人|人工客服|轉接客服|转接客服|找客服|客服人員|客服人员"),
}


def as_request_for_person(text: str, language: str) -> list[EventType]:
    """Take the message back and log it again as the request_human intent, the way Rasa's
    two-stage fallback records a clarified message: the handoff rules then take over (the
    handoff action and then listening) exactly as for an English request."""
    parse_data = {
        "text": text,
        "intent": {"name": REQUEST_HUMAN, "confidence": 1.0},
        "intent_ranking": [{"name": REQUEST_HUMAN, "confidence": 1.0}],
        "entities": [],
    }
    return [
        UserUtteranceReverted(),
        ActionExecuted("action_listen"),
        UserUttered(text, parse_data=parse_data),
        SlotSet("customer_language", language),
    ]


def asks_for_person(text: str, language: str) -> bool:
    """Whether a Swedish, Norwegian or Chinese message asks to talk to a person."""
    pattern = _PERSON_REQUEST.get(language)
    return bool(pattern and pattern.search(text))
MAX_PASSAGE_CHARS = 600
SEARCH_K = 3

# Everything the knowledge fallback says, per language (the articles' languages).
MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "answer": "This article might help: {title}\n\n{passage}\n\nRead more: {url}",
        "helped": "Did that answer your question?",
        "yes": "Yes",
        "no": "No",
        "person": "Talk to a person",
        "accept": "Yes, please",
        "decline": "No, thanks",
        "glad": "Great, glad that helped! Anything else I can do for you?",
        "not_helped": "Sorry that didn't help.",
        "rephrase": "Could you tell me a bit more, in other words?",
        "offer_human": (
            "Would you like me to put you in touch with one of our customer service colleagues?"
        ),
        "unavailable": "Sorry, I can't search our help articles right now.",
        "human_in_language": "",
        "no_person": "No problem. Is there anything else I can help you with?",
        "not_found": (
            "Sorry, I couldn't find an answer to that in our help articles. Would you like to "
            "talk to one of our customer service colleagues, or put your question another way?"
        ),
    },
    "sv": {
        "answer": "Den här artikeln kan hjälpa dig: {title}\n\n{passage}\n\nLäs mer: {url}",
        "helped": "Besvarade det din fråga?",
        "yes": "Ja",
        "no": "Nej",
        "person": "Prata med en kollega",
        "accept": "Ja tack",
        "decline": "Nej tack",
        "glad": "Vad bra att det hjälpte! Kan jag hjälpa dig med något mer?",
        "not_helped": "Tyvärr, det hjälpte inte.",
        "rephrase": "Kan du berätta lite mer, med andra ord?",
        "offer_human": (
            "Vill du att jag kopplar dig till någon av våra kollegor på kundservice?"
        ),
        "unavailable": "Tyvärr kan jag inte söka i våra hjälpartiklar just nu.",
        "human_in_language": (
            "Du kan också prata med en av våra kollegor på kundservice, på svenska."
        ),
        "no_person": "Inga problem. Kan jag hjälpa dig med något annat?",
        "not_found": (
            "Tyvärr hittade jag inget svar på det i våra hjälpartiklar. Vill du prata med en av "
            "våra kollegor på kundservice, eller formulera frågan på ett annat sätt?"
        ),
    },
    "nb": {
        "answer": "Denne artikkelen kan hjelpe deg: {title}\n\n{passage}\n\nLes mer: {url}",
        "helped": "Svarte det på spørsmålet ditt?",
        "yes": "Ja",
        "no": "Nei",
        "person": "Snakk med en kollega",
        "accept": "Ja takk",
        "decline": "Nei takk",
        "glad": "Så bra at det hjalp! Er det noe mer jeg kan hjelpe deg med?",
        "not_helped": "Beklager at det ikke hjalp.",
        "rephrase": "Kan du fortelle litt mer, med andre ord?",
        "offer_human": (
            "Vil du at jeg setter deg i kontakt med en av våre kolleger i kundeservice?"
        ),
        "unavailable": "Beklager, jeg kan ikke søke i hjelpeartiklene våre akkurat nå.",
        "human_in_language": (
            "Du kan også snakke med en av våre kolleger i kundeservice, på norsk."
        ),
        "no_person": "Greit. Er det noe annet jeg kan hjelpe deg med?",
        "not_found": (
            "Beklager, jeg fant ikke noe svar på det i hjelpeartiklene våre. Vil du snakke med en "
            "av våre kolleger i kundeservice, eller spørre på en annen måte?"
        ),
    },
    "zh": {
        "answer": "這篇文章也許能幫到您：{title}\n\n{passage}\n\n了解更多：{url}",
        "helped": "這有回答您的問題嗎？",
        "yes": "有",
        "no": "沒有",
        "person": "轉接真人客服",
        "accept": "好的",
        "decline": "不用了",
        "glad": "很高興能幫上忙！還有什麼我可以為您做的嗎？",
        "not_helped": "很抱歉，這沒有幫上忙。",
        "rephrase": "可以換個說法，多告訴我一些嗎？",
        "offer_human": (
            "需要我為您轉接客服同事嗎？"
        ),
        "unavailable": "很抱歉，我現在無法搜尋我們的說明文章。",
        "human_in_language": "我們的客服同事也可以用中文為您服務。",
        "no_person": "好的。還有什麼我可以為您做的嗎？",
        "not_found": (
            "很抱歉，我在說明文章中找不到相關的答案。您想與客服同事聯繫，還是換個方式描述您的問題？"
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


def customer_language(tracker: Tracker) -> str:
    """The language the knowledge fallback last saw, else the latest message's, else English."""
    known = tracker.get_slot("customer_language")
    if known in LANGUAGES:
        return str(known)
    parsed = (tracker.latest_message or {}).get("language")
    if parsed in LANGUAGES:
        return str(parsed)
    return detect_language(_latest_text(tracker))


def yes_no_buttons(language: str, *, yes: str = "yes", no: str = "no") -> list[dict[str, str]]:
    return [
        {"title": message(language, yes), "payload": "/affirm"},
        {"title": message(language, no), "payload": "/deny"},
    ]


def person_button(language: str) -> dict[str, str]:
    return {"title": message(language, "person"), "payload": "/request_human"}


def _say_human_in_language(dispatcher: CollectingDispatcher, language: str) -> None:
    note = message(language, "human_in_language")
    if note:
        dispatcher.utter_message(text=note)


def _last_bot_action(tracker: Tracker) -> str | None:
    """The last action the bot ran before the customer's latest message (action_listen aside)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return str(event.get("name"))
    return None


def _knowledge_state(
    article_id: str | None, *, declined: bool = False, offered_human: bool = False
) -> list[EventType]:
    """The knowledge fallback's slots; both actions set all three on every run, because the
    rules (data/rules/knowledge.yml) must name every slot an action sets."""
    return [
        SlotSet("kb_article_id", article_id),
        SlotSet("kb_declined", declined),
        SlotSet("kb_offered_human", offered_human),
    ]


def answer_from_knowledge(
    dispatcher: CollectingDispatcher,
    text: str,
    *,
    search: KnowledgeSearch,
    min_score: float,
) -> list[EventType]:
    """Answer `text` from the knowledge base, or hand over to the two-stage fallback.

    Without a good enough passage (or with the service down) the two-stage fallback follows;
    its first question (actions/fallback.py) says, in the customer's language, that nothing
    was found and offers a person.
    """
    language = detect_language(text)
    events: list[EventType] = [SlotSet("customer_language", language)]
    if asks_for_person(text, language):
        logger.info("knowledge fallback: a person was asked for (language %s)", language)
        return as_request_for_person(text, language)
    not_found: list[EventType] = [
        *events, *_knowledge_state(None), FollowupAction(TWO_STAGE_FALLBACK)
    ]
    try:
        answer = find_answer(search, text, language=language, min_score=min_score)
    except KnowledgeUnavailable:
        logger.exception("knowledge fallback: the knowledge service is unavailable")
        dispatcher.utter_message(text=message(language, "unavailable"))
        return not_found
    if answer is None:
        logger.info("knowledge fallback: no passage above %.2f (language %s)", min_score, language)
        return not_found
    logger.info("knowledge fallback: article %s (score %.2f)", answer.article_id, answer.score)
    dispatcher.utter_message(
        text=message(language, "answer").format(
            title=answer.title, passage=answer.passage, url=answer.url
        )
    )
    _say_human_in_language(dispatcher, language)
    dispatcher.utter_message(
        text=message(language, "helped"),
        buttons=[*yes_no_buttons(language), person_button(language)],
    )
    return [*events, *_knowledge_state(answer.article_id)]


class ActionKnowledgeSearch(Action):
    """NLU fell back: look for an answer in the public knowledge articles."""

    def name(self) -> str:
        return "action_knowledge_search"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = _latest_text(tracker)
        if not text:
            return [*_knowledge_state(None), FollowupAction(TWO_STAGE_FALLBACK)]
        if (
            tracker.get_slot("kb_declined")
            and _last_bot_action(tracker) == ActionKnowledgeFeedback.NAME
        ):
            # The rephrased question was not understood either: offer a person.
            language = customer_language(tracker)
            dispatcher.utter_message(
                text=message(language, "offer_human"),
                buttons=yes_no_buttons(language, yes="accept", no="decline"),
            )
            _say_human_in_language(dispatcher, language)
            return _knowledge_state(None, offered_human=True)
        # a new question (also when the customer moved on after the rephrase request)
        return answer_from_knowledge(
            dispatcher,
            text,
            search=knowledge_client(),
            min_score=KbSettings.from_env().min_score,
        )


class ActionKnowledgeFeedback(Action):
    """The customer answered "did that help?" or declined the offered person."""

    NAME = "action_knowledge_feedback"

    def name(self) -> str:
        return self.NAME

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = customer_language(tracker)
        intent = str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")
        if tracker.get_slot("kb_offered_human"):
            # only "no" reaches this action; "yes" goes to action_handoff_to_human by rule
            dispatcher.utter_message(text=message(language, "no_person"))
            return _knowledge_state(None)
        if intent == "affirm":
            dispatcher.utter_message(text=message(language, "glad"))
            return _knowledge_state(None)
        dispatcher.utter_message(text=message(language, "not_helped"))
        dispatcher.utter_message(text=message(language, "rephrase"))
        return _knowledge_state(None, declined=True)
