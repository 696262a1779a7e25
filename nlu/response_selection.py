"""Retrieval intents (`faq/<topic>`) scored as classes of their own, reported the way Rasa's
ResponseSelector reports them.

The intent `faq` gets the probability of its most likely topic, the confidence that the answer
given is the right one. `parse_data["response_selector"]` is filled exactly as Rasa's
ResponseSelector fills it (`all_retrieval_intents`, and per retrieval intent `response`
{responses, confidence, intent_response_key, utter_action} and `ranking`), so `utter_faq`
(ActionRetrieveResponse) and `rasa test` work unchanged; the topic confidences there are
conditional on the retrieval intent (they sum to 1 over its topics).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.shared.nlu.constants import (
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    RESPONSE_IDENTIFIER_DELIMITER,
    TEXT,
)
from rasa.shared.nlu.training_data import util

TopicScores = dict[str, list[tuple[str, float]]]


def retrieval_parts(label: str) -> tuple[str, str] | None:
    """("faq", "shipping_times") for "faq/shipping_times"; None for a plain intent."""
    intent, delimiter, topic = label.partition(RESPONSE_IDENTIFIER_DELIMITER)
    return (intent, topic) if delimiter and intent and topic else None


def intent_scores(
    classes: list[str], probabilities: np.ndarray, retrieval_intents: list[str]
) -> tuple[dict[str, float], TopicScores]:
    """Each intent's probability, a retrieval intent's being its most likely topic's, and
    per retrieval intent its topics' (label, probability)."""
    intents: dict[str, float] = {}
    topics: TopicScores = {name: [] for name in retrieval_intents}
    for label, probability in zip(classes, probabilities, strict=True):
        value = float(probability)
        parts = retrieval_parts(label)
        if parts and parts[0] in topics:
            topics[parts[0]].append((label, value))
            # The retrieval intent is as likely as its most likely topic: the answer given.
            intents[parts[0]] = max(intents.get(parts[0], 0.0), value)
        else:
            intents[label] = value
    return intents, topics


def response_selector(
    previous: dict[str, Any] | None, retrieval_intents: list[str], topics: TopicScores,
    responses: dict[str, list[dict[str, Any]]], ranking_length: int,
) -> dict[str, Any]:
    """The message's `response_selector` property with each scored retrieval intent's
    chosen answer and topic ranking (``ranking_length`` 0: every topic)."""
    selector = dict(previous or {})
    selector[RESPONSE_SELECTOR_RETRIEVAL_INTENTS] = list(retrieval_intents)
    for retrieval_intent, scored in topics.items():
        if not scored:
            continue
        total = sum(value for _, value in scored) or 1.0
        ordered = sorted(scored, key=lambda item: -item[1])
        ranking = [
            {PREDICTED_CONFIDENCE_KEY: value / total, INTENT_RESPONSE_KEY: label}
            for label, value in (ordered[:ranking_length] if ranking_length else ordered)
        ]
        best_key = ordered[0][0]
        template = util.intent_response_key_to_template_key(best_key)
        selector[retrieval_intent] = {
            RESPONSE_SELECTOR_PREDICTION_KEY: {
                RESPONSE_SELECTOR_RESPONSES_KEY: responses.get(template) or [{TEXT: best_key}],
                PREDICTED_CONFIDENCE_KEY: ranking[0][PREDICTED_CONFIDENCE_KEY],
                INTENT_RESPONSE_KEY: best_key,
                RESPONSE_SELECTOR_UTTER_ACTION_KEY: template,
            },
            RESPONSE_SELECTOR_RANKING_KEY: ranking,
        }
    return selector
