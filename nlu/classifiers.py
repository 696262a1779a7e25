"""A linear intent classifier over the pipeline's dense and sparse sentence features.

    - name: nlu.classifiers.LinearIntentClassifier
      C: 10.0              # inverse L2 regularisation strength of the logistic regression
      dense_weight: 1.0    # scale of the (unit-length) dense block relative to the sparse block
      max_iter: 300
      ranking_length: 10

Sparse sentence features (e.g. CountVectorsFeaturizer counts) are reweighted with a sublinear
TF-IDF fitted on the training data and scaled to unit length; dense sentence features (e.g.
nlu.featurizers.SentenceEmbeddingFeaturizer) are scaled to unit length and by `dense_weight`.
A multinomial logistic regression gives calibrated probabilities, so FallbackClassifier can
threshold the intent confidence. DIET can still run for entities in the same pipeline.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

logger = logging.getLogger(__name__)

_MODEL_FILE = "linear_intent_classifier.pkl"


class _FeatureLayout:
    """Which feature blocks the classifier was trained on, and their widths."""

    def __init__(self, sparse_dim: int, dense_dim: int) -> None:
        self.sparse_dim = sparse_dim
        self.dense_dim = dense_dim


def _sentence_blocks(message: Message) -> tuple[scipy.sparse.spmatrix | None, np.ndarray | None]:
    _, sparse = message.get_sparse_features(TEXT)
    _, dense = message.get_dense_features(TEXT)
    sparse_matrix = scipy.sparse.csr_matrix(sparse.features) if sparse is not None else None
    dense_matrix = np.asarray(dense.features, dtype=np.float32) if dense is not None else None
    return sparse_matrix, dense_matrix


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
            "max_iter": 300,
            "tol": 1e-4,
            "random_state": 42,
            "ranking_length": 10,
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        *,
        model: LogisticRegression | None = None,
        tfidf: TfidfTransformer | None = None,
        layout: _FeatureLayout | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._validate(self.config)
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.tfidf = tfidf
        self.layout = layout

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

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _matrix(self, messages: list[Message], *, fit: bool) -> scipy.sparse.csr_matrix:
        sparse_rows: list[scipy.sparse.spmatrix | None] = []
        dense_rows: list[np.ndarray | None] = []
        for message in messages:
            sparse, dense = _sentence_blocks(message)
            sparse_rows.append(sparse)
            dense_rows.append(dense)
        if fit:
            sparse_dim = next((m.shape[1] for m in sparse_rows if m is not None), 0)
            dense_dim = next((d.shape[1] for d in dense_rows if d is not None), 0)
            self.layout = _FeatureLayout(sparse_dim, dense_dim)
        assert self.layout is not None
        blocks: list[scipy.sparse.spmatrix] = []
        if self.layout.sparse_dim:
            rows = [
                m if m is not None and m.shape[1] == self.layout.sparse_dim
                else scipy.sparse.csr_matrix((1, self.layout.sparse_dim))
                for m in sparse_rows
            ]
            sparse_block = scipy.sparse.vstack(rows).tocsr()
            if fit:
                self.tfidf = TfidfTransformer(sublinear_tf=True)
                self.tfidf.fit(sparse_block)
            assert self.tfidf is not None
            blocks.append(self.tfidf.transform(sparse_block))
        if self.layout.dense_dim:
            dense_block = np.vstack(
                [
                    d if d is not None and d.shape[1] == self.layout.dense_dim
                    else np.zeros((1, self.layout.dense_dim), dtype=np.float32)
                    for d in dense_rows
                ]
            )
            dense_block = normalize(dense_block) * float(self.config["dense_weight"])
            blocks.append(scipy.sparse.csr_matrix(dense_block))
        if not blocks:
            raise InvalidConfigException(
                "LinearIntentClassifier found no sentence features for the text; add a "
                "featurizer (e.g. CountVectorsFeaturizer, SentenceEmbeddingFeaturizer) before it"
            )
        return scipy.sparse.hstack(blocks).tocsr()

    def train(self, training_data: TrainingData) -> Resource:
        """Fit the classifier on the intent examples that have a text."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        labels = [e.get(INTENT) for e in examples]
        if len(set(labels)) < 2:
            logger.warning(
                "LinearIntentClassifier needs at least two intents with examples, found %s; "
                "it will not predict intents",
                len(set(labels)),
            )
            return self._resource
        features = self._matrix(examples, fit=True)
        self.model = LogisticRegression(
            C=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            tol=float(self.config["tol"]),
            random_state=self.config["random_state"],
            solver="lbfgs",
            multi_class="multinomial",
        )
        self.model.fit(features, labels)
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Set the intent and the intent ranking of each message."""
        if self.model is None or not messages:
            for message in messages:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
            return messages
        probabilities = self.model.predict_proba(self._matrix(messages, fit=False))
        classes = list(self.model.classes_)
        ranking_length = int(self.config["ranking_length"])
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row)
            if ranking_length:
                order = order[:ranking_length]
            ranking = [{"name": classes[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        state = {"model": self.model, "tfidf": self.tfidf, "layout": self.layout}
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
        return cls(
            config,
            model_storage,
            resource,
            model=state["model"],
            tfidf=state["tfidf"],
            layout=state["layout"],
        )
