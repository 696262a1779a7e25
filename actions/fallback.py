"""The two-stage fallback's questions, in words a customer understands and in their language.

Rasa's own `action_default_ask_affirmation` asks "Did you mean 'faq'?". These replacements
(listed in domain/knowledge.yml, so Rasa calls them on the action server) say what the bot
understood, for example "Is your question about delivery times and shipping costs?", with Yes /
No / Talk to a person buttons. The intents are trained on English examples only, so a Swedish,
Norwegian or Chinese message gets no guess: it is told, in that language, that nothing was
found, and offered a colleague.

Button payloads: an intent is affirmed with `/<intent>`. A FAQ topic is affirmed with one of its
training questions (FAQ_QUESTIONS, checked against data/nlu/faq.yml by the tests), because the
retrieval intent's answer needs the ResponseSelector, which a `/faq` payload skips.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import customer_language, message, person_button

logger = logging.getLogger(__name__)

OUT_OF_SCOPE = "/out_of_scope"
FALLBACK_INTENT = "nlu_fallback"

# What the bot understood, as a yes/no question. Intents not listed (greet, affirm, inform, ...)
# are never offered: "Did you mean to say yes?" helps nobody.
INTENT_QUESTIONS: dict[str, str] = {
    "check_order_status": "Do you want to know where your order is?",
    "cancel_order": "Do you want to cancel an order?",
    "start_return": "Do you want to return something you ordered?",
    "request_human": "Would you like to talk to one of our customer service colleagues?",
    "complaint": "Would you like to make a complaint?",
    "bot_challenge": "Are you asking whether you're chatting with a bot?",
}

FAQ_TOPIC_QUESTIONS: dict[str, str] = {
    "shipping_times": "Is your question about delivery times and shipping costs?",
    "international_shipping": "Is your question about shipping outside the EU and customs?",
    "returns_policy": "Is your question about how returns work?",
    "refund_timing": "Is your question about when you'll get your refund?",
    "exchanges": "Do you want to exchange an item for another size or colour?",
    "payment_methods": "Is your question about how you can pay?",
    "invoices": "Is your question about receipts or invoices?",
    "warranty": "Is your question about the warranty on a product?",
    "change_order": "Do you want to change an order you've placed?",
    "cancellation_policy": "Is your question about when an order can be cancelled?",
    "account_password": "Is your question about your account or password?",
    "privacy": "Is your question about your personal data and privacy?",
    "gift_cards": "Is your question about gift cards?",
    "contact_hours": "Is your question about our opening hours and how to reach us?",
    "damaged_item": "Did an item arrive damaged?",
}

# The payload that affirms a FAQ topic: a training question of that topic.
FAQ_QUESTIONS: dict[str, str] = {
    "shipping_times": "how long does shipping take",
    "international_shipping": "do you ship internationally",
    "returns_policy": "what is your return policy",
    "refund_timing": "when will I get my refund",
    "exchanges": "can I exchange an item",
    "payment_methods": "what payment methods do you accept",
    "invoices": "can I get an invoice",
    "warranty": "what warranty do you offer",
    "change_order": "can I change my order",
    "cancellation_policy": "what is your cancellation policy",
    "account_password": "I forgot my password",
    "privacy": "delete my data",
    "gift_cards": "how do gift cards work",
    "contact_hours": "what are your opening hours",
    "damaged_item": "my item arrived damaged",
}


def _faq_topic(parse_data: dict[str, Any]) -> str | None:
    """The FAQ topic the ResponseSelector picked for this message, e.g. "shipping_times"."""
    selected = (parse_data.get("response_selector") or {}).get("faq") or {}
    key = str((selected.get("response") or {}).get("intent_response_key") or "")
    topic = key.split("/", 1)[1] if key.startswith("faq/") else ""
    return topic if topic in FAQ_TOPIC_QUESTIONS else None


def best_guess(parse_data: dict[str, Any]) -> tuple[str, str] | None:
    """(question, payload) for the most likely thing the customer meant, or None.

    Walks the intent ranking below nlu_fallback and takes the first intent the bot can put into
    words; for `faq`, the ResponseSelector's topic.
    """
    for ranked in parse_data.get("intent_ranking") or []:
        name = str(ranked.get("name") or "")
        if name == FALLBACK_INTENT:
            continue
        if name == "faq":
            topic = _faq_topic(parse_data)
            if topic is not None:
                return FAQ_TOPIC_QUESTIONS[topic], FAQ_QUESTIONS[topic]
            continue
        if name in INTENT_QUESTIONS:
            return INTENT_QUESTIONS[name], f"/{name}"
    return None


class ActionDefaultAskAffirmation(Action):
    """First question of the two-stage fallback: "Is your question about ...?" or a person."""

    def name(self) -> str:
        return "action_default_ask_affirmation"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = customer_language(tracker)
        guess = best_guess(tracker.latest_message or {}) if language == "en" else None
        if guess is None:
            dispatcher.utter_message(text=message(language, "not_found"),
                                     buttons=[person_button(language)])
            note = message(language, "human_in_language")
            if note:
                dispatcher.utter_message(text=note)
            return []
        question, payload = guess
        logger.info("two-stage fallback: asking whether the customer meant %s", payload)
        dispatcher.utter_message(
            text=f"Sorry, I'm not quite sure I understood. {question}",
            buttons=[
                {"title": message(language, "yes"), "payload": payload},
                {"title": message(language, "no"), "payload": OUT_OF_SCOPE},
                person_button(language),
            ],
        )
        return []


class ActionDefaultAskRephrase(Action):
    """Second question of the two-stage fallback: please say it another way."""

    def name(self) -> str:
        return "action_default_ask_rephrase"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = customer_language(tracker)
        if language == "en":
            dispatcher.utter_message(response="utter_ask_rephrase")
        else:
            dispatcher.utter_message(text=message(language, "rephrase"),
                                     buttons=[person_button(language)])
        return []
