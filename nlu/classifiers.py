"""A linear intent classifier that also picks the FAQ answer (Rasa's ResponseSelector contract).

    - name: nlu.classifiers.LinearIntentClassifier
      C: 10.0                   # inverse L2 regularisation strength of the logistic regression
      dense_weight: 1.0         # scale of the (unit-length) dense block against the sparse block
      class_weight: null        # or "balanced"
      retrieval_intents: true   # fold `faq/<topic>` labels into the classifier (see below)
      max_iter: 300
      ranking_length: 10

Sparse sentence features (e.g. CountVectorsFeaturizer counts) are reweighted with a sublinear
TF-IDF fitted on the training data and scaled to unit length; each dense sentence feature (e.g.
each encoder's vector from nlu.featurizers.SentenceEmbeddingFeaturizer) is scaled to unit length
on its own (an all-zero one stays zero) and by `dense_weight` (the rows in nlu.linear).
A multinomial logistic regression (nlu.linear, scikit-learn's objective fitted faster) gives
calibrated probabilities, so FallbackClassifier can threshold the intent confidence.

Retrieval intents (`faq`): with `retrieval_intents: true` every `faq/<topic>` is a class of its
own. The intent `faq` gets the probability of its most likely topic, the confidence that the
answer given is the right one, so FallbackClassifier's threshold also sends an unsure topic to
the knowledge fallback. `parse_data["response_selector"]` is filled exactly as Rasa's
ResponseSelector fills it (`all_retrieval_intents`, and per retrieval intent `response`
{responses, confidence, intent_response_key, utter_action} and `ranking`; `response_selector`
below), so `utter_faq` (ActionRetrieveResponse) and `rasa test` work unchanged; the topic
confidences there are conditional on the retrieval intent (they sum to 1 over its topics).
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import (
    RESPONSE_SELECTOR_PREDICTION_KEY,
    RESPONSE_SELECTOR_PROPERTY_NAME,
    RESPONSE_SELECTOR_RANKING_KEY,
    RESPONSE_SELECTOR_RESPONSES_KEY,
    RESPONSE_SELECTOR_RETRIEVAL_INTENTS,
    RESPONSE_SELECTOR_UTTER_ACTION_KEY,
)
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_RANKING_KEY,
    INTENT_RESPONSE_KEY,
    PREDICTED_CONFIDENCE_KEY,
    RESPONSE_IDENTIFIER_DELIMITER,
    TEXT,
)
from rasa.shared.nlu.training_data import util
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfTransformer

from nlu.linear import SoftmaxRegression, fit_softmax, sentence_features, sparse_rows, tfidf, unit

logger = logging.getLogger(__name__)

_MODEL_FILE = "linear_intent_classifier.pkl"


class _FeatureLayout:
    """Which feature blocks the classifier was trained on, and their widths."""

    def __init__(self, sparse_dim: int, dense_dim: int) -> None:
        self.sparse_dim = sparse_dim
        self.dense_dim = dense_dim


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Multinomial logistic regression over TF-IDF-weighted sparse + unit dense features."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "C": 10.0,
            "dense_weight": 1.0,
            "class_weight": None,
            "retrieval_intents": True,
            "max_iter": 300,
            "tol": 1e-4,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        """``state``: what training left, as `persist` writes it (none: untrained)."""
        self.config = {**self.get_default_config(), **config}
        self._validate(self.config)
        self._model_storage = model_storage
        self._resource = resource
        state = state or {}
        self.model: SoftmaxRegression | None = state.get("model")
        self.tfidf: TfidfTransformer | None = state.get("tfidf")
        self.layout: _FeatureLayout | None = state.get("layout")
        self.retrieval_intents: list[str] = state.get("retrieval_intents") or []
        self.responses: dict[str, list[dict[str, Any]]] = state.get("responses") or {}

    @staticmethod
    def _validate(config: dict[str, Any]) -> None:
        for key in ("C", "dense_weight"):
            value = config[key]
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise InvalidConfigException(
                    f"LinearIntentClassifier: {key} must be a positive number, got {value!r}"
                )
        for key in ("max_iter", "ranking_length"):
            value = config[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidConfigException(
                    f"LinearIntentClassifier: {key} must be a non-negative integer, "
                    f"got {value!r}"
                )
        if config["class_weight"] not in (None, "balanced"):
            raise InvalidConfigException(
                "LinearIntentClassifier: class_weight must be null or 'balanced', "
                f"got {config['class_weight']!r}"
            )
        if not isinstance(config["retrieval_intents"], bool):
            raise InvalidConfigException(
                "LinearIntentClassifier: retrieval_intents must be true or false, "
                f"got {config['retrieval_intents']!r}"
            )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _blocks(
        self, messages: list[Message], *, fit: bool
    ) -> tuple[scipy.sparse.csr_matrix | None, np.ndarray | None]:
        """The TF-IDF-weighted sparse block and the unit-length dense block of the messages."""
        features = [sentence_features(message) for message in messages]
        if fit:
            sparse_dim = next(
                (sum(p.shape[1] for p in sparse) for sparse, _ in features if sparse), 0
            )
            dense_dim = next((sum(d.shape[0] for d in dense) for _, dense in features if dense),
                             0)
            self.layout = _FeatureLayout(sparse_dim, dense_dim)
        assert self.layout is not None
        if not self.layout.sparse_dim and not self.layout.dense_dim:
            raise InvalidConfigException(
                "LinearIntentClassifier found no sentence features for the text; add a "
                "featurizer (e.g. CountVectorsFeaturizer, SentenceEmbeddingFeaturizer) before it"
            )
        sparse_block: scipy.sparse.csr_matrix | None = None
        dense_block: np.ndarray | None = None
        if self.layout.sparse_dim:
            counts = sparse_rows([sparse for sparse, _ in features], self.layout.sparse_dim)
            if fit:
                self.tfidf = TfidfTransformer(sublinear_tf=True).fit(counts)
            assert self.tfidf is not None
            sparse_block = tfidf(counts, np.asarray(self.tfidf.idf_, dtype=np.float64))
        if self.layout.dense_dim:
            dense_block = np.zeros((len(messages), self.layout.dense_dim), dtype=np.float32)
            for row, (_, dense) in enumerate(features):
                if dense and sum(part.shape[0] for part in dense) == self.layout.dense_dim:
                    # Each encoder's vector at unit length, so none outweighs another.
                    dense_block[row] = np.concatenate([unit(part) for part in dense])
            dense_block *= float(self.config["dense_weight"])
        return sparse_block, dense_block

    def _label(self, example: Message) -> str:
        intent = str(example.get(INTENT))
        key = example.get(INTENT_RESPONSE_KEY)
        if self.config["retrieval_intents"] and key and intent in self.retrieval_intents:
            return str(key)
        return intent

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the classifier on the intent examples that have a text."""
        if self.config["retrieval_intents"]:
            self.retrieval_intents = sorted(training_data.retrieval_intents)
            self.responses = {
                name: list(responses)
                for name, responses in training_data.responses.items()
                if (parts := retrieval_parts(util.template_key_to_intent_response_key(name)))
                and parts[0] in self.retrieval_intents
            }
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [self._label(e) for e in examples]
        if len(set(labels)) < 2:
            logger.warning(
                "LinearIntentClassifier needs at least two intents with examples, found %s; "
                "it will not predict intents",
                len(set(labels)),
            )
            return self._resource
        sparse, dense = self._blocks(examples, fit=True)
        self.model = fit_softmax(
            sparse,
            dense,
            labels,
            C=float(self.config["C"]),
            class_weight=self.config["class_weight"],
            max_iter=int(self.config["max_iter"]),
            tol=float(self.config["tol"]),
        )
        logger.debug("LinearIntentClassifier: %s classes, %s L-BFGS iterations",
                     len(self.model.classes_), self.model.n_iter)
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Set the intent, the intent ranking and, for retrieval intents, the chosen answer."""
        if self.model is None or not messages:
            for message in messages:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
            return messages
        probabilities = self.model.predict_proba(*self._blocks(messages, fit=False))
        classes = [str(label) for label in self.model.classes_]
        for message, row in zip(messages, probabilities, strict=True):
            self._set_prediction(message, classes, row)
        return messages

    def _set_prediction(self, message: Message, classes: list[str], row: np.ndarray) -> None:
        intents, topics = intent_scores(classes, row, self.retrieval_intents)
        ranking = [
            {"name": name, "confidence": confidence}
            for name, confidence in sorted(intents.items(), key=lambda item: -item[1])
        ]
        ranking_length = int(self.config["ranking_length"])
        if ranking_length:
            ranking = ranking[:ranking_length]
        message.set(INTENT, ranking[0], add_to_output=True)
        message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if self.retrieval_intents:
            selector = response_selector(
                message.get(RESPONSE_SELECTOR_PROPERTY_NAME), self.retrieval_intents, topics,
                self.responses, ranking_length,
            )
            message.set(RESPONSE_SELECTOR_PROPERTY_NAME, selector, add_to_output=True)

    def persist(self) -> None:
        state = {
            "model": self.model,
            "tfidf": self.tfidf,
            "layout": self.layout,
            "retrieval_intents": self.retrieval_intents,
            "responses": self.responses,
        }
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _MODEL_FILE).write_bytes(pickle.dumps(state))

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                state = pickle.loads((directory / _MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            logger.debug("LinearIntentClassifier has no trained model (no intents to train)")
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, state)


# --- retrieval intents, reported the way Rasa's ResponseSelector reports them ----------------

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
