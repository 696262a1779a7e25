"""A Rasa 3.6 graph component adding dense sentence features from a sentence encoder.

    - name: nlu.featurizers.SentenceEmbeddingFeaturizer
      encoder: e5             # e5 (multilingual-e5-small, nordvik.e5) or minilm (English only)
      english_encoder: minilm # optional second vector for English (see below); null: none
      cache: true             # training features cached in var/cache/nlu (NLU_CACHE_DIR)

`NLU_ENCODER=minilm` (or `e5`) in the environment overrides `encoder`, and
`NLU_ENGLISH_ENCODER=none` (or `minilm`, `e5`) overrides `english_encoder`, when a model is
trained. The trained model records the encoders it was trained with and keeps using them whatever
the environment says later, so the classifier always sees the features it was trained on;
switching encoders means retraining (the encoders are part of Rasa's fingerprint of this
component). `NLU_ENCODER=minilm` alone is the MiniLM-only pipeline: the English encoder is
dropped when it is the main one.

It adds one dense SENTENCE feature of shape (1, 384) to TEXT (and RESPONSE / ACTION_TEXT when
present) and, with `english_encoder`, a second one: the English encoder's vector for a message
not detected as Swedish, Norwegian or Chinese (nordvik.languages; English or too short to tell),
zeros for one that is. The English-only MiniLM sees every non-English text as alike, so its
vector would only add noise there; for English it adds what e5 (weaker in English) misses.
It adds no sequence features: nlu.classifiers.LinearIntentClassifier uses the sentence
features directly (each scaled to unit length on its own). Training texts are encoded in bulk
and cached on disk; a customer message is encoded on one thread, and recent ones are kept in
memory only (nlu.embeddings).
"""

from __future__ import annotations

import json
import logging
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

from nlu.embeddings import EMBEDDING_DIM, SentenceEncoder, sentence_encoder, wait_for_warming
from nlu.settings import (
    ENCODERS,
    FEATURIZER_DEFAULTS,
    NluSettings,
    resolve_encoder,
    resolve_english_encoder,
)
from nordvik.languages import detect_language_or_none

logger = logging.getLogger(__name__)

_STATE_FILE = "sentence_encoder.json"


def english_rows(texts: list[str]) -> list[bool]:
    """Which texts get the English encoder's vector: all but those detected as sv, nb or zh."""
    return [detect_language_or_none(text) in (None, "en") for text in texts]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Dense sentence features from multilingual-e5-small or MiniLM."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), **FEATURIZER_DEFAULTS}

    @staticmethod
    def required_packages() -> list[str]:
        return ["numpy"]

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        encoder = config.get("encoder")
        if encoder not in ENCODERS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: encoder must be one of {', '.join(ENCODERS)}, "
                f"got {encoder!r}"
            )
        english = config.get("english_encoder")
        if english is not None and english not in ENCODERS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: english_encoder must be null or one of "
                f"{', '.join(ENCODERS)}, got {english!r}"
            )
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
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """The encoder chosen by the environment is part of the training fingerprint."""
        settings = NluSettings.from_env()
        model_path = config.get("model_path") or settings.model_path
        english = resolve_english_encoder(config, settings) or ""
        return f"{resolve_encoder(config, settings)}+{english}:{model_path or ''}"

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        *,
        encoder: str | None = None,
        english_encoder: str | None = None,
        recorded: bool = False,
    ) -> None:
        merged = {**self.get_default_config(), **config}
        super().__init__(name, merged)
        self._settings = NluSettings.from_env()
        self._model_storage = model_storage
        self._resource = resource
        self.encoder_name = encoder or resolve_encoder(merged, self._settings)
        if self.encoder_name not in ENCODERS:
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: the model was trained with an unknown encoder "
                f"{self.encoder_name!r}"
            )
        self.english_encoder_name = (
            english_encoder if recorded else resolve_english_encoder(merged, self._settings)
        )
        if self.english_encoder_name not in (None, *ENCODERS):
            raise InvalidConfigException(
                f"SentenceEmbeddingFeaturizer: the model was trained with an unknown English "
                f"encoder {self.english_encoder_name!r}"
            )

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        return cls(execution_context.node_name, config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEmbeddingFeaturizer:
        try:
            with model_storage.read_from(resource) as directory:
                state = json.loads((directory / _STATE_FILE).read_text(encoding="utf-8"))
        except (ValueError, FileNotFoundError):
            logger.warning("SentenceEmbeddingFeaturizer: no recorded encoder in the model; "
                           "using the configured one")
            return cls(execution_context.node_name, config, model_storage, resource)
        english = state.get("english_encoder")
        component = cls(execution_context.node_name, config, model_storage, resource,
                        encoder=str(state.get("encoder")),
                        english_encoder=str(english) if english else None, recorded=True)
        wanted = component._settings.encoder
        if wanted and wanted != component.encoder_name:
            logger.warning(
                "NLU_ENCODER=%s, but this model was trained with %s and keeps using it; "
                "retrain to switch", wanted, component.encoder_name,
            )
        return component

    def train(self, training_data: TrainingData) -> Resource:
        """Record the encoder, so the trained model keeps using the one it was trained with."""
        with self._model_storage.write_to(self._resource) as directory:
            (directory / _STATE_FILE).write_text(
                json.dumps({"encoder": self.encoder_name,
                            "english_encoder": self.english_encoder_name,
                            "model_key": self.encoder.model_key}),
                encoding="utf-8",
            )
        return self._resource

    @property
    def encoder(self) -> SentenceEncoder:
        return self._sentence_encoder(self.encoder_name)

    @property
    def english_encoder(self) -> SentenceEncoder | None:
        name = self.english_encoder_name
        return self._sentence_encoder(name) if name else None

    def _sentence_encoder(self, name: str) -> SentenceEncoder:
        use_cache = bool(self._config["cache"]) and self._settings.cache_enabled
        configured = self._config.get("model_path") or self._settings.model_path
        return sentence_encoder(
            name,
            model_path=Path(str(configured)) if configured and name == "minilm" else None,
            cache_dir=self._settings.cache_dir if use_cache else None,
            parse_cache_size=self._settings.parse_cache_size,
            train_threads=self._settings.train_threads,
            batch_size=int(self._config["batch_size"]),
        )

    def _featurize(self, messages: list[Message], *, training: bool) -> None:
        english = self.english_encoder
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            with_text = [
                m for m in messages if isinstance(m.get(attribute), str) and m.get(attribute)
            ]
            if not with_text:
                continue
            texts = [str(m.get(attribute)) for m in with_text]
            blocks = [_encode(self.encoder, texts, training=training)]
            if english is not None:
                block = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
                rows = [i for i, wanted in enumerate(english_rows(texts)) if wanted]
                if rows:
                    block[rows] = _encode(english, [texts[i] for i in rows], training=training)
                blocks.append(block)
            for row, message in enumerate(with_text):
                for block in blocks:
                    self.add_features_to_message(
                        sequence=None,
                        sentence=block[row : row + 1],
                        attribute=attribute,
                        message=message,
                    )

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Featurize all training examples in bulk; new vectors go to the disk cache (which
        scripts/train.py may be filling beside the training: nlu.warm_cache)."""
        if bool(self._config["cache"]) and self._settings.cache_enabled:
            waited = wait_for_warming(self._settings.cache_dir)
            if waited >= 1.0:
                logger.info("waited %.0f s for the training texts' vectors (nlu.warm_cache)",
                            waited)
        self._featurize(list(training_data.training_examples), training=True)
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Featurize incoming messages (memory only, never written to disk)."""
        self._featurize(messages, training=False)
        return messages


def _encode(encoder: SentenceEncoder, texts: list[str], *, training: bool) -> np.ndarray:
    """Training texts go to the disk cache; customer messages stay in memory."""
    return encoder.encode(texts, store=True) if training else encoder.encode_messages(texts)
