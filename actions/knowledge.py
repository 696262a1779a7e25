"""Knowledge fallback: a question no intent covers, answered from the public help articles.

Flow (rules in data/rules/knowledge.yml; the bot's open question is the slot pending_question):
- `action_knowledge_search` runs for out_of_scope and nlu_fallback. It searches `kb serve` for
  public articles in the conversation's language; above KB_MIN_SCORE it answers with the best
  passage and its link and asks "did that help?" (kb_helpful).
- Nothing good enough: when the NLU had a guess, it asks whether the customer meant that
  ("Is your question about delivery times?", buttons; clarify), otherwise it asks them to put it
  another way (kb_rephrase). A rephrased question that finds nothing either gets a person
  offered (human_offer). "No" to the guess also asks to rephrase.
- Inside a form it only answers (or says it found nothing); the form then asks again.
- "yes, that helped" ends politely (utter_kb_glad); "no" (`action_knowledge_feedback`) asks to
  rephrase. A typed "yes" to the guess (`action_accept_guess`) takes the unclear message as the
  guessed intent or FAQ topic.
- The knowledge service down: a polite message, logged, and a person offered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    EventType,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    CLARIFY,
    KB_HELPFUL,
    KB_REPHRASE,
    SLOT_PENDING,
    ask,
    conversation_language,
    latest_text,
    offer_human,
)
from kb_index.client import HttpKnowledgeClient
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.settings import KbSettings
from kb_index.types import Hit, KnowledgeSearch

logger = logging.getLogger(__name__)

MAX_PASSAGE_CHARS = 600
SEARCH_K = 3
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
# What the bot can ask "did you mean ...?" about (responses utter_clarify_<name>).
CLARIFIABLE_INTENTS = ("check_order_status", "cancel_order", "start_return", "request_human",
                       "complaint", "bot_challenge")
FAQ_TOPICS = ("shipping_times", "international_shipping", "returns_policy", "refund_timing",
              "exchanges", "payment_methods", "invoices", "warranty", "change_order",
              "cancellation_policy", "account_password", "privacy", "gift_cards",
              "contact_hours", "damaged_item")
MIN_GUESS_CONFIDENCE = 0.15
SLOT_GUESS = "clarify_guess"


@dataclass(frozen=True)
class KnowledgeAnswer:
    """The passage shown to the customer, from a public article."""

    article_id: str
    title: str
    passage: str
    url: str
    language: str
    score: float


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
        article_id=best.article_id, title=best.title, passage=_shorten(best.passage),
        url=best.url, language=best.language, score=best.score,
    )


@lru_cache(maxsize=1)
def knowledge_client() -> HttpKnowledgeClient:
    return HttpKnowledgeClient.from_env()


def best_guess(parse_data: dict[str, Any]) -> str | None:
    """The clarifying response for what the customer most likely meant, or None.

    Walks the intent ranking below the fallback and takes the first intent the bot can put into
    words; for `faq`, the selected topic.
    """
    for ranked in parse_data.get("intent_ranking") or []:
        name = str(ranked.get("name") or "")
        if name in FALLBACK_INTENTS:
            continue
        if float(ranked.get("confidence") or 0.0) < MIN_GUESS_CONFIDENCE:
            return None
        if name == "faq":
            selected = (parse_data.get("response_selector") or {}).get("faq") or {}
            key = str((selected.get("response") or {}).get("intent_response_key") or "")
            topic = key.split("/", 1)[1] if key.startswith("faq/") else ""
            return f"utter_clarify_faq_{topic}" if topic in FAQ_TOPICS else None
        if name in CLARIFIABLE_INTENTS:
            return f"utter_clarify_{name}"
    return None


class ActionKnowledgeSearch(Action):
    """A question no intent covers: look for an answer in the public help articles."""

    def name(self) -> str:
        return "action_knowledge_search"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        text = latest_text(tracker)
        language = conversation_language(tracker)
        in_form = tracker.active_loop_name is not None
        rephrased = tracker.get_slot(SLOT_PENDING) == KB_REPHRASE
        try:
            answer = (find_answer(knowledge_client(), text, language=language,
                                  min_score=KbSettings.from_env().min_score) if text else None)
        except KnowledgeUnavailable:
            logger.exception("knowledge fallback: the knowledge service is unavailable")
            dispatcher.utter_message(response="utter_kb_unavailable")
            return ask(None) if in_form else offer_human(dispatcher, "knowledge_unavailable")
        if answer is not None:
            logger.info("knowledge fallback: article %s (score %.2f, %s)",
                        answer.article_id, answer.score, language)
            dispatcher.utter_message(response="utter_kb_answer", title=answer.title,
                                     passage=answer.passage, url=answer.url)
            if in_form:
                return ask(None)
            dispatcher.utter_message(response="utter_kb_helped")
            return [SlotSet("kb_article_id", answer.article_id), *ask(KB_HELPFUL)]
        logger.info("knowledge fallback: nothing good enough (%s)", language)
        if in_form:
            dispatcher.utter_message(response="utter_kb_no_answer")
            return ask(None)
        if rephrased:
            return offer_human(dispatcher, "not_understood")
        guess = best_guess(tracker.latest_message or {})
        if guess is not None:
            dispatcher.utter_message(response=guess)
            return [SlotSet(SLOT_GUESS, guess), *ask(CLARIFY)]
        dispatcher.utter_message(response="utter_ask_rephrase")
        return ask(KB_REPHRASE)


class ActionKnowledgeFeedback(Action):
    """"No" to "did that help?" or to the bot's guess: ask the customer to put it another way.
    ("Yes, that helped" is utter_kb_glad, by rule.)"""

    def name(self) -> str:
        return "action_knowledge_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        dispatcher.utter_message(response="utter_kb_rephrase")
        return [SlotSet("kb_article_id", None), *ask(KB_REPHRASE)]


def guessed_message(guess: str, text: str) -> dict[str, Any]:
    """The parse data of the customer's unclear message as the intent (or FAQ topic) the bot
    guessed and the customer confirmed."""
    if guess.startswith("utter_clarify_faq_"):
        topic = guess[len("utter_clarify_faq_"):]
        key = f"faq/{topic}"
        selected = {"response": {"intent_response_key": key, "utter_action": f"utter_{key}",
                                 "responses": [], "confidence": 1.0}, "ranking": []}
        return {"text": text, "intent": {"name": "faq", "confidence": 1.0},
                "intent_ranking": [{"name": "faq", "confidence": 1.0}], "entities": [],
                "response_selector": {"all_retrieval_intents": ["faq"], "faq": selected}}
    intent = guess[len("utter_clarify_"):]
    return {"text": text, "intent": {"name": intent, "confidence": 1.0},
            "intent_ranking": [{"name": intent, "confidence": 1.0}], "entities": []}


class ActionAcceptGuess(Action):
    """A typed "yes" to "did you mean ...?": the unclear message is taken as what the bot
    guessed (the buttons send the guessed intent or question themselves), and the rules for it
    take over, the way Rasa's two-stage fallback re-logs a clarified message."""

    def name(self) -> str:
        return "action_accept_guess"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        guess = str(tracker.get_slot(SLOT_GUESS) or "")
        unclear = next(
            (str(event.get("text") or "") for event in reversed(tracker.events[:-1])
             if event.get("event") == "user"), "")
        if not guess.startswith("utter_clarify_") or not unclear:
            dispatcher.utter_message(response="utter_out_of_context_affirm")
            return []
        return [UserUtteranceReverted(), ActionExecuted("action_listen"),
                UserUttered(unclear, parse_data=guessed_message(guess, unclear)),
                SlotSet(SLOT_GUESS, None)]
