"""A Rasa 3.6 graph component adding dense sentence features from a sentence-transformers model.

    - name: nlu.featurizers.SentenceEmbeddingFeaturizer
      batch_size: 64          # texts per encoder batch
      normalize: true         # unit-length vectors (like the knowledge index)
      cache: true             # training features cached in var/cache/nlu (NLU_CACHE_DIR)

It adds one dense SENTENCE feature of shape (1, 384) to TEXT (and RESPONSE / ACTION_TEXT when
present). It adds no sequence features: DIET and ResponseSelector combine it with the sparse
featurizers' sequence features, and nlu.classifiers.LinearIntentClassifier uses it directly.
The model (default: the packaged all-MiniLM-L6-v2, the knowledge index's model) is loaded
lazily, once per process; Rasa's LanguageModelFeaturizer is not used because it downloads from
the Hub and needs TensorFlow transformers.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.embeddings import SentenceEncoder, default_model_path
from nlu.settings import NluSettings

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _encoder(
    model_path: str, cache_dir: str | None, normalize: bool, batch: int
) -> SentenceEncoder:
    return SentenceEncoder(
        Path(model_path),
        cache_dir=Path(cache_dir) if cache_dir else None,
        normalize=normalize,
        batch_size=batch,
    )


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False
)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from a local sentence-transformers model."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            "model_path": None,
            "batch_size": 64,
            "normalize": True,
            "cache": True,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sentence_transformers"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        batch = config.get("batch_size")
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: batch_size must be a positive integer, "
                f"got {batch!r}"
            )
        model_path = config.get("model_path")
        if model_path is not None and not Path(str(model_path)).is_dir():
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: model_path {model_path!r} is not a directory"
            )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(execution_context.node_name, config)

    def __init__(self, name: str, config: dict[str, Any]) -> None:
        super().__init__(name, {**self.get_default_config(), **config})
        self._settings = NluSettings.from_env()

    def _get_encoder(self) -> SentenceEncoder:
        configured = self._config.get("model_path") or self._settings.model_path
        model_path = Path(str(configured)) if configured else default_model_path()
        use_cache = bool(self._config["cache"]) and self._settings.cache_enabled
        cache_dir = str(self._settings.cache_dir) if use_cache else None
        return _encoder(
            str(model_path), cache_dir, bool(self._config["normalize"]), self._config["batch_size"]
        )

    def _featurize(self, messages: list[Message], *, store: bool) -> None:
        encoder = self._get_encoder()
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            with_text = [
                m for m in messages if isinstance(m.get(attribute), str) and m.get(attribute)
            ]
            if not with_text:
                continue
            vectors = encoder.encode([m.get(attribute) for m in with_text], store=store)
            for message, vector in zip(with_text, vectors, strict=True):
                self.add_features_to_message(
                    sequence=None,
                    sentence=np.expand_dims(vector, 0),
                    attribute=attribute,
                    message=message,
                )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize all training examples, batch-encoded; new vectors go to the disk cache."""
        self._featurize(list(training_data.training_examples), store=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages (read from the cache, never written to it)."""
        self._featurize(messages, store=False)
        return messages
