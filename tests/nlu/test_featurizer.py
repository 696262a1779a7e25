"""SentenceEmbeddingFeaturizer and its cache with the real packaged model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.exceptions import InvalidConfigException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu import embeddings
from nlu.embeddings import EMBEDDING_DIM, EmbeddingCache, SentenceEncoder, default_model_path
from nlu.featurizers import SentenceEmbeddingFeaturizer

pytestmark = pytest.mark.slow


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("NLU_CACHE_DIR", str(directory))
    monkeypatch.setenv("NLU_FEATURE_CACHE", "1")
    return directory


def _featurizer(tmp_path: Path, **config: Any) -> SentenceEmbeddingFeaturizer:
    storage = LocalModelStorage(tmp_path / "storage")
    context = ExecutionContext(GraphSchema({}), node_name="dense_featurizer")
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config},
        storage,
        Resource("dense_featurizer"),
        context,
    )


def _sentence_vector(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None
    assert sentence is not None
    return np.asarray(sentence.features)


def test_training_and_inference_messages_get_384_dim_sentence_features(
    tmp_path: Path, cache_dir: Path
) -> None:
    featurizer = _featurizer(tmp_path)
    training = TrainingData(
        [
            Message(data={TEXT: "where is my parcel", "intent": "order_status"}),
            Message(data={TEXT: "I want to return a lamp", "intent": "return"}),
            Message(data={"intent": "order_status"}),  # core-only message without text
        ]
    )
    featurizer.process_training_data(training)
    vectors = [_sentence_vector(m) for m in training.training_examples[:2]]
    assert all(v.shape == (1, EMBEDDING_DIM) for v in vectors)
    assert np.linalg.norm(vectors[0]) == pytest.approx(1.0, abs=1e-4)
    assert not np.allclose(vectors[0], vectors[1])
    assert training.training_examples[2].get_dense_features(TEXT) == (None, None)

    [incoming] = featurizer.process([Message(data={TEXT: "where is my parcel"})])
    np.testing.assert_array_equal(_sentence_vector(incoming), vectors[0])


def test_identical_texts_get_identical_features(tmp_path: Path, cache_dir: Path) -> None:
    featurizer = _featurizer(tmp_path, cache=False)
    messages = [Message(data={TEXT: text}) for text in ("hi there", "refund please", "hi there")]
    featurizer.process(messages)
    first, second, third = (_sentence_vector(m) for m in messages)
    np.testing.assert_array_equal(first, third)
    assert not np.allclose(first, second)


def test_training_writes_the_cache_and_inference_does_not(
    tmp_path: Path, cache_dir: Path
) -> None:
    featurizer = _featurizer(tmp_path)
    featurizer.process([Message(data={TEXT: "a customer's private message"})])
    encoder = SentenceEncoder(default_model_path(), cache_dir=cache_dir)
    assert encoder.cache is not None
    assert encoder.cache.get_many(["a customer's private message"]) == {}

    featurizer.process_training_data(TrainingData([Message(data={TEXT: "track my order"})]))
    cached = encoder.cache.get_many(["track my order"])
    assert set(cached) == {"track my order"}


def test_cache_hit_does_not_run_the_model(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = SentenceEncoder(default_model_path(), cache_dir=cache_dir)
    stored = encoder.encode(["how much is shipping to Norway"], store=True)

    def no_model(self: SentenceEncoder, texts: list[str]) -> np.ndarray:
        raise AssertionError(f"model called for {texts}")

    monkeypatch.setattr(SentenceEncoder, "_encode_fresh", no_model)
    again = SentenceEncoder(default_model_path(), cache_dir=cache_dir)
    np.testing.assert_array_equal(again.encode(["how much is shipping to Norway"]), stored)
    with pytest.raises(AssertionError, match="model called"):
        again.encode(["a text that is not cached"])


def test_cache_keys_depend_on_the_model(tmp_path: Path) -> None:
    one = EmbeddingCache(tmp_path, "model-a")
    other = EmbeddingCache(tmp_path, "model-b")
    one.put_many({"hello": np.ones(EMBEDDING_DIM, dtype=np.float32)})
    assert set(one.get_many(["hello"])) == {"hello"}
    assert other.get_many(["hello"]) == {}


def test_the_model_is_loaded_once_per_process(tmp_path: Path, cache_dir: Path) -> None:
    featurizer = _featurizer(tmp_path, cache=False)
    featurizer.process([Message(data={TEXT: "first"})])
    before = embeddings.load_model.cache_info().currsize
    _featurizer(tmp_path, cache=False).process([Message(data={TEXT: "second"})])
    assert embeddings.load_model.cache_info().currsize == before
    assert before == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": "64"}, "batch_size must be a positive integer"),
        ({"model_path": "/nonexistent/model"}, "is not a directory"),
    ],
)
def test_bad_config_is_rejected(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigException, match=message):
        _featurizer(tmp_path, **config)
