"""The featurizer and LinearIntentClassifier trained and used through Rasa's real training API."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.model_training import train_nlu

pytestmark = pytest.mark.slow

INTENTS = {
    "order_status": [
        "where is my order", "where is my parcel", "has my package shipped yet",
        "track my delivery", "when will my order arrive", "what is the status of my order",
        "my parcel has not arrived", "is my order on its way",
    ],
    "return_item": [
        "I want to return an item", "how do I send something back", "return a broken lamp",
        "can I get a return label", "I would like to return my chair",
        "how can I return a product", "start a return please", "send back the sofa",
    ],
    "payment": [
        "can I pay with Klarna", "which payment methods do you accept", "do you take PayPal",
        "can I pay by invoice", "is Swish accepted", "can I use a gift card to pay",
        "do you accept American Express", "pay with credit card",
    ],
}

SPARSE = [
    {"name": "WhitespaceTokenizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "nlu.featurizers.SentenceEmbeddingFeaturizer"},
]


def _write(tmp_path: Path, pipeline: list[dict[str, object]]) -> tuple[Path, Path]:
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in INTENTS.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples]
    data = tmp_path / "nlu.yml"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump({
                "recipe": "default.v1",
                "language": "en",
                "assistant_id": "nlu-test",
                "pipeline": pipeline,
            }),
        encoding="utf-8",
    )
    return config, data


async def _parse(model: str, texts: list[str]) -> list[dict[str, object]]:
    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


@pytest.fixture()
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NLU_CACHE_DIR", str(tmp_path / "feature-cache"))
    monkeypatch.setenv("RASA_MAX_CACHE_SIZE", "0")


async def test_linear_classifier_pipeline_trains_and_predicts(
    tmp_path: Path, isolated_cache: None
) -> None:
    pipeline = [
        *SPARSE,
        {"name": "nlu.classifiers.LinearIntentClassifier", "C": 10.0},
        {"name": "FallbackClassifier", "threshold": 0.4, "ambiguity_threshold": 0.05},
        {"name": "nlu.language_gate.LanguageFallbackGate"},
    ]
    config, data = _write(tmp_path, pipeline)
    model = train_nlu(str(config), str(data), str(tmp_path / "models"))
    assert model
    # paraphrases that are not in the training data
    parsed = await _parse(
        model,
        [
            "where's my shipment", "I need to send this product back", "do you accept Visa cards",
            "var är mitt paket någonstans",
        ],
    )
    assert [p["intent"]["name"] for p in parsed] == [
        "order_status", "return_item", "payment", "nlu_fallback",
    ]
    assert [p["language"] for p in parsed] == ["en", "en", "en", "sv"]
    parsed = parsed[:3]
    for p in parsed:
        ranking = p["intent_ranking"]
        assert {r["name"] for r in ranking} >= set(INTENTS)
        confidences = [r["confidence"] for r in ranking if r["name"] != "nlu_fallback"]
        assert confidences == sorted(confidences, reverse=True)
        assert sum(confidences) == pytest.approx(1.0, abs=1e-6)
    assert (tmp_path / "feature-cache" / "sentence_embeddings.sqlite").is_file()


async def test_dense_features_work_next_to_sparse_ones_in_diet(
    tmp_path: Path, isolated_cache: None
) -> None:
    pipeline = [
        *SPARSE,
        {"name": "DIETClassifier", "epochs": 40, "entity_recognition": False,
         "random_seed": 1, "constrain_similarities": True},
    ]
    config, data = _write(tmp_path, pipeline)
    model = train_nlu(str(config), str(data), str(tmp_path / "models"))
    assert model
    parsed = await _parse(model, ["where is my order", "return a broken lamp"])
    assert [p["intent"]["name"] for p in parsed] == ["order_status", "return_item"]
