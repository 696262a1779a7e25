"""The project's NLU components trained and used through Rasa's real training API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.core.agent import Agent
from rasa.model_training import train_nlu

pytestmark = pytest.mark.slow

INTENTS = {
    "check_order_status": [
        "where is my order", "has my package shipped yet", "track my delivery",
        "var är mitt paket", "har min beställning skickats", "hvor er pakken min",
        "er bestillingen min sendt", "我的訂單到哪了", "包裹什麼時候到", "查一下訂單",
    ],
    "start_return": [
        "I want to return an item", "how do I send this lamp back", "return a broken chair",
        "jag vill returnera en vara", "skicka tillbaka lampan", "jeg vil returnere en vare",
        "sende tilbake stolen", "我想退貨", "這個燈我要退", "我要退回椅子",
    ],
    "greet": ["hi", "hello there", "hej", "hallå", "hei", "god morgen", "你好", "哈囉"],
}
FAQ = {
    "faq/payment_methods": [
        "can I pay with Klarna", "which payment methods do you accept", "kan jag betala med swish",
        "kan jeg betale med vipps", "可以用信用卡付款嗎", "有哪些付款方式",
    ],
    "faq/contact_hours": [
        "when are you open", "what is your phone number", "när har ni öppet",
        "når har dere åpent", "客服幾點上班", "客服電話是多少",
    ],
}
DOMAIN_RESPONSES = {
    "utter_faq/payment_methods": [{"text": "Card, Klarna, Swish, invoice."}],
    "utter_faq/contact_hours": [{"text": "Weekdays 8-20."}],
}

PIPELINE: list[dict[str, Any]] = [
    {"name": "nlu.reading.MultilingualTokenizer"},
    {"name": "CountVectorsFeaturizer"},
    {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
    {"name": "nlu.featurizers.SentenceEmbeddingFeaturizer", "encoder": "e5"},
    {"name": "nlu.classifiers.LinearIntentClassifier", "C": 10.0},
    {"name": "nlu.reading.OrderEmailExtractor"},
    {"name": "FallbackClassifier", "threshold": 0.2, "ambiguity_threshold": 0.0},
    {"name": "nlu.reading.LanguageDetector"},
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in {**INTENTS, **FAQ}.items():
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples]
    lines += ["responses:"]
    for name, responses in DOMAIN_RESPONSES.items():
        lines += [f"  {name}:"] + [f"  - text: \"{r['text']}\"" for r in responses]
    data = tmp_path / "nlu.yml"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = tmp_path / "config.yml"
    config.write_text(
        yaml.safe_dump({"recipe": "default.v1", "language": "en", "assistant_id": "nlu-test",
                        "pipeline": PIPELINE}),
        encoding="utf-8",
    )
    return config, data


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> str:
    tmp_path = tmp_path_factory.mktemp("pipeline")
    patch = pytest.MonkeyPatch()
    patch.setenv("NLU_CACHE_DIR", str(tmp_path / "feature-cache"))
    patch.setenv("RASA_MAX_CACHE_SIZE", "0")
    patch.delenv("NLU_ENCODER", raising=False)
    try:
        config, data = _write(tmp_path)
        trained = train_nlu(str(config), str(data), str(tmp_path / "models"))
        assert trained
        assert (tmp_path / "feature-cache" / "sentence_embeddings.sqlite").is_file()
        return str(trained)
    finally:
        patch.undo()


async def _parse(model: str, texts: list[str]) -> list[dict[str, Any]]:
    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


async def test_paraphrases_in_four_languages_get_their_intent_and_language(model: str) -> None:
    parsed = await _parse(model, [
        "where's my shipment?", "var är min order", "hvor er bestillingen", "我的包裹在哪裡",
        "I need to send this back", "jag vill lämna tillbaka lampan", "我想要退這張椅子",
    ])
    assert [p["intent"]["name"] for p in parsed] == [
        "check_order_status", "check_order_status", "check_order_status", "check_order_status",
        "start_return", "start_return", "start_return",
    ]
    assert [p.get("language") for p in parsed] == ["en", "sv", "nb", "zh", "en", "sv", "zh"]
    for p in parsed:
        confidences = [r["confidence"] for r in p["intent_ranking"]]
        assert confidences == sorted(confidences, reverse=True)


async def test_faq_answers_follow_the_response_selector_contract(model: str) -> None:
    [parsed] = await _parse(model, ["kan man betala med kort?"])
    assert parsed["intent"]["name"] == "faq"
    selector = parsed["response_selector"]
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/payment_methods"
    assert response["utter_action"] == "utter_faq/payment_methods"
    assert response["responses"] == [{"text": "Card, Klarna, Swish, invoice."}]
    assert 0.5 < response["confidence"] <= 1.0
    ranking = selector["faq"]["ranking"]
    assert [set(r) for r in ranking] == [{"confidence", "intent_response_key"}] * 2
    assert ranking[0]["intent_response_key"] == "faq/payment_methods"
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    # The intent's confidence is that of the answer given, never more than the topic's share.
    assert parsed["intent"]["confidence"] <= response["confidence"] + 1e-9


async def test_entities_and_no_language_for_an_order_number(model: str) -> None:
    [glued, bare] = await _parse(model, ["我的訂單Ａ１２３４５到哪了", "a10234"])
    assert [(e["entity"], e["value"]) for e in glued["entities"]] == [("order_number", "A12345")]
    entity = glued["entities"][0]
    assert glued["text"][entity["start"] : entity["end"]] == "Ａ１２３４５"
    assert bare["entities"][0]["value"] == "A10234"
    assert bare.get("language") is None
