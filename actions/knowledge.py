"""Knowledge fallback: a question no intent covers, answered from the public help articles.

Flow (rules in data/rules/knowledge.yml; the bot's open question is the slot pending_question):
- `action_knowledge_search` runs for out_of_scope and nlu_fallback. It searches `kb serve` for
  public articles in the conversation's language; above KB_MIN_SCORE it answers with the best
  passage and its link and asks "did that help?" (kb_helpful).
- Nothing good enough: when the NLU had a guess, it asks whether the customer meant that
  ("Is your question about delivery times?", buttons; clarify); when its two best guesses are
  close, it names both ("Did you mean one of these?", a button each, "None of these" and a
  person). Without a guess it asks them to put it another way, with a button for a person
  (kb_rephrase). A rephrased question that finds nothing either gets a person offered
  (human_offer).
- "No" to the guess, or "None of these" (`action_knowledge_feedback`): the help articles
  nearest to the unclear message are listed with their links, and a person is offered.
- Inside a form it only answers (or says it found nothing); the form then asks again.
- "yes, that helped" ends politely (utter_kb_glad); "no" to it (`action_knowledge_feedback`)
  asks to rephrase. A typed "yes" to a single guess (`action_accept_guess`) takes the unclear
  message as the guessed intent or FAQ topic.
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
    MAX_INPUT_CHARS,
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
from message_catalogue.messages import get_catalogue

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
# The second guess is named too when its confidence is within this of the first: the NLU's own
# "too close to call" (FallbackClassifier's ambiguity_threshold in config.yml).
CLOSE_GUESS_MARGIN = 0.1
CLARIFY_PREFIX = "utter_clarify_"
# "None of these": help articles listed (title and link) from this share of KB_MIN_SCORE up.
RELATED_SHARE_OF_MIN_SCORE = 0.5
MAX_RELATED = 2
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


def _guess_response(name: str) -> str | None:
    """The clarifying response for an intent or a `faq/<topic>` label, None if there is none."""
    if name.startswith("faq/"):
        topic = name.split("/", 1)[1]
        return f"{CLARIFY_PREFIX}faq_{topic}" if topic in FAQ_TOPICS else None
    return f"{CLARIFY_PREFIX}{name}" if name in CLARIFIABLE_INTENTS else None


def ranked_guesses(parse_data: dict[str, Any]) -> list[tuple[str, float]]:
    """The clarifying responses the NLU's ranking points at, most likely first, with their
    confidence. The `faq` intent stands for its topics: each topic gets the intent's confidence
    scaled by its share of the best topic's (the classifier gives `faq` its best topic's)."""
    scored: list[tuple[str, float]] = []
    for ranked in parse_data.get("intent_ranking") or []:
        name = str(ranked.get("name") or "")
        confidence = float(ranked.get("confidence") or 0.0)
        if name in FALLBACK_INTENTS:
            continue
        if name != "faq":
            scored.append((name, confidence))
            continue
        selected = (parse_data.get("response_selector") or {}).get("faq") or {}
        topics = [(str(t.get("intent_response_key") or ""), float(t.get("confidence") or 0.0))
                  for t in selected.get("ranking") or []]
        if not topics:
            key = str((selected.get("response") or {}).get("intent_response_key") or "")
            topics = [(key, 1.0)]
        best = max(share for _, share in topics) or 1.0
        scored += [(key, confidence * share / best) for key, share in topics]
    scored.sort(key=lambda item: -item[1])
    out: list[tuple[str, float]] = []
    for name, confidence in scored:
        response = _guess_response(name)
        if response is not None and response not in (r for r, _ in out):
            out.append((response, confidence))
    return out


def clarify_guesses(parse_data: dict[str, Any]) -> list[str]:
    """What to ask "did you mean ...?" about: the best guess the bot can put into words (at
    least MIN_GUESS_CONFIDENCE), and the second best too when it is as likely within
    CLOSE_GUESS_MARGIN. Empty: no guess."""
    ranked = [(r, c) for r, c in ranked_guesses(parse_data) if c >= MIN_GUESS_CONFIDENCE]
    if not ranked:
        return []
    (first, top), rest = ranked[0], ranked[1:2]
    return [first, *(r for r, c in rest if c >= top - CLOSE_GUESS_MARGIN)]


def best_guess(parse_data: dict[str, Any]) -> str | None:
    """The clarifying response for what the customer most likely meant, or None."""
    guesses = clarify_guesses(parse_data)
    return guesses[0] if guesses else None


def guess_choice(guess: str, language: str) -> tuple[str, str]:
    """(button title, payload) of a guess in the two-guess question: the guess's short label
    (utter_clarify_label_*) and the payload of its own question's "yes" button."""
    catalogue = get_catalogue()
    label = catalogue.text(f"utter_clarify_label_{guess[len(CLARIFY_PREFIX):]}", language)
    return label, catalogue.render(guess, language).buttons[0].payload


def ask_about_guesses(dispatcher: CollectingDispatcher, guesses: list[str],
                      language: str) -> list[EventType]:
    """"Did you mean ...?" about one guess (yes/no), or about two (a button each, "None of
    these", a person)."""
    if len(guesses) == 1:
        dispatcher.utter_message(response=guesses[0])
        return [SlotSet(SLOT_GUESS, guesses[0]), *ask(CLARIFY)]
    (first, first_payload), (second, second_payload) = (
        guess_choice(guess, language) for guess in guesses[:2])
    dispatcher.utter_message(response="utter_clarify_two", first=first,
                             first_payload=first_payload, second=second,
                             second_payload=second_payload)
    return [SlotSet(SLOT_GUESS, None), *ask(CLARIFY)]


def unclear_message(tracker: Tracker) -> str:
    """The customer's message before the latest one: what the bot asked "did you mean ...?"
    about."""
    return next((str(event.get("text") or "") for event in reversed(tracker.events[:-1])
                 if event.get("event") == "user"), "")


def related_articles(search: KnowledgeSearch, text: str, *, language: str,
                     min_score: float) -> list[Hit]:
    """Up to MAX_RELATED public, current articles near `text` (one hit each, best first),
    scoring at least RELATED_SHARE_OF_MIN_SCORE of the answer threshold."""
    try:
        hits = search.search(text, k=SEARCH_K, lang=language, audience=("public",))
    except InvalidQuery:
        return []
    floor = min_score * RELATED_SHARE_OF_MIN_SCORE
    found: dict[str, Hit] = {}
    for hit in sorted(hits, key=lambda h: -h.score):
        if hit.audience == "public" and not hit.stale and hit.score >= floor:
            found.setdefault(hit.article_id, hit)
    return list(found.values())[:MAX_RELATED]


def none_of_the_guesses(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """"None of these" (or "no" to the guess): the help articles nearest to the unclear
    message, with their links, and a person offered."""
    text = unclear_message(tracker).strip()[:MAX_INPUT_CHARS]
    language = conversation_language(tracker)
    try:
        related = (related_articles(knowledge_client(), text, language=language,
                                    min_score=KbSettings.from_env().min_score) if text else [])
    except KnowledgeUnavailable:
        logger.exception("none of the guesses: the knowledge service is unavailable")
        related = []
    if related:
        logger.info("none of the guesses: %s related article(s) listed (%s)", len(related),
                    language)
        dispatcher.utter_message(response="utter_kb_related", articles="\n".join(
            f"• {hit.title}: {hit.url}" for hit in related))
    return [SlotSet(SLOT_GUESS, None), SlotSet("kb_article_id", None),
            *offer_human(dispatcher, "not_understood")]


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
        guesses = clarify_guesses(tracker.latest_message or {})
        if guesses:
            return ask_about_guesses(dispatcher, guesses, language)
        # never a bare "I didn't understand": utter_ask_rephrase carries a button for a person
        dispatcher.utter_message(response="utter_ask_rephrase")
        return ask(KB_REPHRASE)


class ActionKnowledgeFeedback(Action):
    """"No" to "did that help?": ask the customer to put it another way ("Yes, that helped" is
    utter_kb_glad, by rule). "No" to the bot's guess, or "None of these": the nearest help
    articles and a person offered (`none_of_the_guesses`)."""

    def name(self) -> str:
        return "action_knowledge_feedback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot(SLOT_PENDING) == CLARIFY:
            return none_of_the_guesses(dispatcher, tracker)
        dispatcher.utter_message(response="utter_kb_rephrase")
        return [SlotSet("kb_article_id", None), *ask(KB_REPHRASE)]


def guessed_message(guess: str, text: str) -> dict[str, Any]:
    """The parse data of the customer's unclear message as the intent (or FAQ topic) the bot
    guessed and the customer confirmed."""
    if guess.startswith(f"{CLARIFY_PREFIX}faq_"):
        topic = guess[len(f"{CLARIFY_PREFIX}faq_"):]
        key = f"faq/{topic}"
        selected = {"response": {"intent_response_key": key, "utter_action": f"utter_{key}",
                                 "responses": [], "confidence": 1.0}, "ranking": []}
        return {"text": text, "intent": {"name": "faq", "confidence": 1.0},
                "intent_ranking": [{"name": "faq", "confidence": 1.0}], "entities": [],
                "response_selector": {"all_retrieval_intents": ["faq"], "faq": selected}}
    intent = guess[len(CLARIFY_PREFIX):]
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
        unclear = unclear_message(tracker)
        if not guess.startswith(CLARIFY_PREFIX) or not unclear:
            dispatcher.utter_message(response="utter_out_of_context_affirm")
            return []
        return [UserUtteranceReverted(), ActionExecuted("action_listen"),
                UserUttered(unclear, parse_data=guessed_message(guess, unclear)),
                SlotSet(SLOT_GUESS, None)]
