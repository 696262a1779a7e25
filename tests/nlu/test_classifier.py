"""LinearIntentClassifier on hand-made features: intents, FAQ topics and Rasa's output contract."""

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
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.classifiers import LinearIntentClassifier

CENTRES = {
    "greet": [1.0, 0.0, 0.0, 0.0],
    "faq/payment_methods": [0.0, 1.0, 0.0, 0.0],
    "faq/contact_hours": [0.0, 0.0, 1.0, 0.0],
    "out_of_scope": [0.0, 0.0, 0.0, 1.0],
}
RESPONSES = {
    "utter_faq/payment_methods": [{"text": "Card, Klarna, Swish."}],
    "utter_faq/contact_hours": [{"text": "Weekdays 8-20."}],
}


def _message(vector: list[float], label: str | None = None) -> Message:
    data: dict[str, Any] = {TEXT: f"text {vector}"}
    if label is not None:
        intent, _, topic = label.partition("/")
        data["intent"] = intent
        if topic:
            data["intent_response_key"] = label
    message = Message(data=data)
    message.add_features(Features(np.asarray([vector], dtype=np.float32), "sentence", TEXT,
                                  "dense"))
    return message


def _training_data(seed: int = 0) -> TrainingData:
    rng = np.random.default_rng(seed)
    examples = [
        _message(list(np.asarray(centre) + rng.normal(scale=0.2, size=4)), label)
        for label, centre in CENTRES.items()
        for _ in range(15)
    ]
    return TrainingData(examples, responses=RESPONSES)


def _storage(tmp_path: Path) -> LocalModelStorage:
    (tmp_path / "storage").mkdir(exist_ok=True)
    return LocalModelStorage(tmp_path / "storage")


def _context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), node_name="classifier")


def _trained(tmp_path: Path, **config: Any) -> LinearIntentClassifier:
    storage = _storage(tmp_path)
    full = {**LinearIntentClassifier.get_default_config(), **config}
    classifier = LinearIntentClassifier.create(full, storage, Resource("classifier"), _context())
    resource = classifier.train(_training_data())
    return LinearIntentClassifier.load(full, storage, resource, _context())


def test_faq_topics_are_classes_and_the_selector_output_is_rasas(tmp_path: Path) -> None:
    classifier = _trained(tmp_path)
    [faq, greet] = classifier.process([_message([0.0, 0.9, 0.1, 0.0]),
                                       _message([0.9, 0.0, 0.0, 0.1])])
    assert faq.get("intent")["name"] == "faq"
    assert greet.get("intent")["name"] == "greet"
    names = [r["name"] for r in faq.get("intent_ranking")]
    assert sorted(names) == ["faq", "greet", "out_of_scope"]  # topics never appear as intents
    selector = faq.get("response_selector")
    assert selector["all_retrieval_intents"] == ["faq"]
    response = selector["faq"]["response"]
    assert response["intent_response_key"] == "faq/payment_methods"
    assert response["utter_action"] == "utter_faq/payment_methods"
    assert response["responses"] == RESPONSES["utter_faq/payment_methods"]
    ranking = selector["faq"]["ranking"]
    assert [r["intent_response_key"] for r in ranking] == ["faq/payment_methods",
                                                           "faq/contact_hours"]
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)
    # faq's confidence is that of its best topic, the answer the customer gets
    assert faq.get("intent")["confidence"] < response["confidence"]
    assert "response_selector" in faq.as_dict(only_output_properties=True)
    assert greet.get("response_selector")["faq"]["response"]["confidence"] > 0


def test_two_topics_alike_lower_faqs_confidence(tmp_path: Path) -> None:
    classifier = _trained(tmp_path)
    [clear, torn] = classifier.process([_message([0.0, 1.0, 0.0, 0.0]),
                                        _message([0.0, 0.5, 0.5, 0.0])])
    assert torn.get("intent")["confidence"] < clear.get("intent")["confidence"] - 0.2


def test_without_folding_faq_is_one_intent_and_no_selector_output(tmp_path: Path) -> None:
    classifier = _trained(tmp_path, retrieval_intents=False)
    [faq] = classifier.process([_message([0.0, 0.9, 0.1, 0.0])])
    assert faq.get("intent")["name"] == "faq"
    assert faq.get("response_selector") is None


def test_a_topic_without_a_response_still_names_its_utter_action(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    config = LinearIntentClassifier.get_default_config()
    classifier = LinearIntentClassifier.create(config, storage, Resource("c"), _context())
    data = _training_data()
    classifier.train(TrainingData(data.training_examples))  # no responses (NLU-only training)
    [faq] = classifier.process([_message([0.0, 0.0, 1.0, 0.0])])
    response = faq.get("response_selector")["faq"]["response"]
    assert response["utter_action"] == "utter_faq/contact_hours"
    assert response["responses"] == [{"text": "faq/contact_hours"}]  # as ResponseSelector does


def test_untrained_or_featureless_input(tmp_path: Path) -> None:
    storage = _storage(tmp_path)
    config = LinearIntentClassifier.get_default_config()
    one_intent = LinearIntentClassifier.create(config, storage, Resource("c"), _context())
    one_intent.train(TrainingData([_message([1.0, 0, 0, 0], "greet")] * 3))
    [message] = one_intent.process([_message([1.0, 0, 0, 0])])
    assert message.get("intent") == {"name": None, "confidence": 0.0}
    classifier = _trained(tmp_path)
    [bare] = classifier.process([Message(data={TEXT: "no features"})])
    assert bare.get("intent")["name"] in CENTRES or bare.get("intent")["name"] == "faq"


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"C": 0}, "C must be a positive number"),
        ({"dense_weight": -1.0}, "dense_weight must be a positive number"),
        ({"class_weight": "auto"}, "class_weight must be null or 'balanced'"),
        ({"retrieval_intents": "yes"}, "retrieval_intents must be true or false"),
        ({"ranking_length": -1}, "ranking_length must be a non-negative integer"),
    ],
)
def test_bad_config_is_rejected(tmp_path: Path, config: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidConfigException, match=error):
        LinearIntentClassifier({**LinearIntentClassifier.get_default_config(), **config},
                               _storage(tmp_path), Resource("c"))


def test_feature_assembly_matches_rasas_combination_and_scikit_learns_tfidf() -> None:
    """The classifier's own assembly of the sentence features (for speed) gives what Rasa's
    combined features and TfidfTransformer(sublinear_tf=True) give, row for row."""
    import scipy.sparse
    from sklearn.feature_extraction.text import TfidfTransformer

    from nlu.linear import sentence_features, sparse_rows, tfidf

    rng = np.random.default_rng(3)
    messages = []
    for number in range(6):
        message = Message(data={TEXT: f"message {number}"})
        for width, origin in ((5, "words"), (7, "chars")):
            counts = rng.integers(0, 3, size=(1, width)).astype(np.float64)
            message.add_features(Features(scipy.sparse.coo_matrix(counts), "sentence", TEXT,
                                          origin))
            message.add_features(Features(scipy.sparse.coo_matrix(np.ones((2, width))),
                                          "sequence", TEXT, origin))
        message.add_features(Features(rng.normal(size=(1, 3)).astype(np.float32), "sentence",
                                      TEXT, "dense"))
        messages.append(message)
    rows = [sentence_features(m)[0] for m in messages]
    ours = sparse_rows(rows, 12)
    rasas = scipy.sparse.vstack([m.get_sparse_features(TEXT)[1].features for m in messages])
    np.testing.assert_allclose(ours.toarray(), rasas.toarray())
    dense = [np.concatenate(sentence_features(m)[1]) for m in messages]
    np.testing.assert_allclose(np.vstack(dense),
                               np.vstack([m.get_dense_features(TEXT)[1].features
                                          for m in messages]))
    transformer = TfidfTransformer(sublinear_tf=True).fit(rasas)
    np.testing.assert_allclose(tfidf(ours, transformer.idf_).toarray(),
                               transformer.transform(rasas).toarray(), rtol=1e-6)
    # a message whose features do not add up to the trained width gets an empty row
    assert sparse_rows([rows[0][:1]], 12).nnz == 0


def test_each_dense_feature_is_scaled_on_its_own_and_a_zero_one_stays_zero(
    tmp_path: Path,
) -> None:
    """Two encoders' vectors (as SentenceEmbeddingFeaturizer with an English encoder adds them):
    each is scaled to unit length apart, so a long one does not drown a short one, and the
    zeros a non-English message gets for the English encoder stay zeros."""
    classifier = LinearIntentClassifier.create(
        {**LinearIntentClassifier.get_default_config(), "dense_weight": 2.0},
        _storage(tmp_path), Resource("classifier"), _context())
    messages = []
    for first, second in (([3.0, 4.0], [0.0, 0.0, 1e-3]), ([0.0, 2.0], [0.0, 0.0, 0.0])):
        message = Message(data={TEXT: "text", "intent": "greet"})
        for vector in (first, second):
            message.add_features(Features(np.asarray([vector], dtype=np.float32), "sentence",
                                          TEXT, "dense"))
        messages.append(message)
    _, dense = classifier._blocks(messages, fit=True)
    assert dense is not None
    np.testing.assert_allclose(dense, [[1.2, 1.6, 0.0, 0.0, 2.0], [0.0, 2.0, 0.0, 0.0, 0.0]],
                               rtol=1e-6)
