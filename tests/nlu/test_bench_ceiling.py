"""bench.nlu_ceiling's pieces that decide its figures: the neighbour vote, the out-of-scope
rules, the features and the settings it takes from config.yml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.nlu_ceiling import (
    classifier_settings,
    mahalanobis_scores,
    rejection_threshold,
    sparse_features,
    vote_probabilities,
)


def test_vote_goes_to_the_nearest_examples_class() -> None:
    similarity = np.array([[0.9, 0.2, 0.85, 0.1],
                           [0.1, 0.8, 0.2, 0.7]])
    labels = np.array([0, 1, 0, 1])
    votes = vote_probabilities(similarity, labels, n_classes=3, neighbours=2, temperature=0.01)
    assert votes.shape == (2, 3)
    np.testing.assert_allclose(votes.sum(axis=1), 1.0)
    assert votes[0].argmax() == 0 and votes[1].argmax() == 1
    assert votes[0, 2] == 0.0  # a class no neighbour has gets nothing


def test_vote_weighs_closer_neighbours_more_and_takes_only_k() -> None:
    similarity = np.array([[0.9, 0.88, 0.1]])
    labels = np.array([0, 1, 2])
    votes = vote_probabilities(similarity, labels, n_classes=3, neighbours=2, temperature=0.01)
    assert votes[0, 0] > votes[0, 1] > 0.0
    assert votes[0, 2] == 0.0
    # more neighbours than training examples: all of them vote
    everyone = vote_probabilities(similarity, labels, n_classes=3, neighbours=10, temperature=1.0)
    assert (everyone > 0).all()


def test_rejection_threshold_catches_the_recall_with_the_fewest_in_scope_rejected() -> None:
    in_scope = np.linspace(0.0, 1.0, 101)
    out_of_scope = np.array([0.01, 0.02, 0.03, 0.5, 0.9])
    threshold = rejection_threshold(in_scope, out_of_scope, recall=0.6)
    assert np.mean(out_of_scope < threshold) >= 0.6
    assert np.mean(in_scope < threshold) <= 0.06  # 3/5 are caught once 0.03 is passed
    # a recall no threshold below the in-scope scores reaches: everything is rejected
    everything = rejection_threshold(in_scope, np.array([2.0, 3.0]), recall=0.8)
    assert everything > 3.0


def test_mahalanobis_scores_a_query_near_a_class_mean_higher() -> None:
    rng = np.random.default_rng(0)
    train = np.vstack([rng.normal(0.0, 0.1, (50, 4)), rng.normal(3.0, 0.1, (50, 4))])
    labels = np.array(["a"] * 50 + ["b"] * 50)
    scores = mahalanobis_scores(train, labels, np.array([[3.0] * 4, [1.5] * 4, [-4.0] * 4]))
    assert scores[0] > scores[1] and scores[0] > scores[2]


def test_sparse_features_fit_on_training_text_only_and_tokenise_chinese() -> None:
    train, (other,) = sparse_features(["var är mitt paket", "我想退貨", "ＡＢＣ order"],
                                      [["我想退貨 please", "zzzz"]])
    assert train.shape[1] == other.shape[1]
    np.testing.assert_allclose(np.sqrt(train.multiply(train).sum(axis=1)).A.ravel(), 1.0)
    # the Chinese query shares the jieba words and characters of the training example
    assert other[0].nnz > other[1].nnz
    # full-width letters are normalised before counting: "abc" matches "ＡＢＣ"
    _, (plain,) = sparse_features(["ＡＢＣ"], [["abc"]])
    assert plain.nnz > 0


def test_classifier_settings_come_from_the_config(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("pipeline:\n  - name: WhitespaceTokenizer\n"
                      "  - name: nlu.classifiers.LinearIntentClassifier\n    C: 2.5\n",
                      encoding="utf-8")
    settings = classifier_settings(config)
    assert settings["C"] == 2.5
    from nlu.classifiers import LinearIntentClassifier

    assert settings["dense_weight"] == LinearIntentClassifier.get_default_config()["dense_weight"]


@pytest.mark.parametrize("key", ["C", "dense_weight"])
def test_the_shipped_config_sets_what_the_ceiling_uses(key: str) -> None:
    from nlu.classifiers import LinearIntentClassifier

    shipped = classifier_settings()
    assert key in shipped
    assert shipped["name"] == "nlu.classifiers.LinearIntentClassifier"
    assert isinstance(shipped[key], float | int)
    assert set(LinearIntentClassifier.get_default_config()) <= set(shipped)


def test_mahalanobis_scores_equal_the_distance_to_the_nearest_mean_computed_directly() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 8))
    labels = rng.integers(0, 5, 300).astype(str)
    queries = rng.normal(size=(20, 8))
    classes = np.unique(labels)
    means = [train[labels == c].mean(axis=0) for c in classes]
    residual = train - np.stack(means)[np.searchsorted(classes, labels)]
    precision = np.linalg.inv(residual.T @ residual / len(train) + 1e-3 * np.eye(8))
    direct = [min(float((q - m) @ precision @ (q - m)) for m in means) for q in queries]
    np.testing.assert_allclose(mahalanobis_scores(train, labels, queries), -np.array(direct),
                               rtol=1e-9, atol=1e-9)
