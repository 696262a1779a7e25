"""Rank fusion: manifest values, the fused order, the confidence score, fitting and
leave-one-corpus-out selection."""

import numpy as np
import pytest

from kb_index.errors import KnowledgeError
from kb_index.evaluation import LabelledQuery, in_split
from kb_index.fusion import (
    FusionWeights,
    choose,
    fit_fusion,
    leave_one_corpus_out,
)


def test_manifest_values_are_validated_and_old_shares_fall_back() -> None:
    assert FusionWeights.from_manifest(None) == FusionWeights()
    assert FusionWeights.from_manifest({"en": 0.9, "zh": 0.1}) == FusionWeights()
    custom = FusionWeights.from_manifest(
        {"dense_weight": 0.7, "rank_constant": 10, "other_language": 0.25}
    )
    assert custom == FusionWeights(0.7, 10.0, 0.25)
    assert FusionWeights.from_manifest(custom.to_manifest()) == custom
    for bad in ({"dense_weight": 1.5}, {"dense_weight": "high"}, {"dense_weight": 0.5, "x": 1},
                ["dense_weight"], {"dense_weight": 0.5, "other_language": -1}):
        with pytest.raises(KnowledgeError, match="bad fusion settings"):
            FusionWeights.from_manifest(bad)


def test_rank_values_reward_agreement_and_prefer_the_query_language() -> None:
    weights = FusionWeights(dense_weight=0.6, rank_constant=5, other_language=0.5)
    cosine = np.array([0.9, 0.8, 0.7, 0.1], dtype=np.float32)
    lexical = np.array([0.2, 0.9, 0.0, 0.0], dtype=np.float32)
    fused = weights.rank_values(cosine, lexical, None)
    # second by dense and first by BM25 beats first by dense and second by BM25 (0.4 weight)
    assert fused[1] < fused[0] and fused[0] > fused[2] > fused[3]
    assert fused[0] == pytest.approx(0.6 / 6 + 0.4 / 7)
    assert fused[2] == pytest.approx(0.6 / 8 + 0.4 / 10)  # no BM25 match: ranked last there
    same = np.array([False, True, True, True])
    preferred = weights.rank_values(cosine, lexical, same)
    assert preferred[0] == pytest.approx(fused[0] * 0.5) and preferred[1] == fused[1]
    assert int(np.argmax(preferred)) == 1
    # only the order of the scores matters, not their scale
    assert np.allclose(weights.rank_values(cosine * 0.1 + 0.8, lexical * 3, None), fused)


def test_confidence_is_a_convex_mix_in_unit_range() -> None:
    weights = FusionWeights(dense_weight=0.6)
    dense = np.array([1.0, 0.0, 0.5], dtype=np.float32)
    lexical = np.array([1.0, 0.0, 0.0], dtype=np.float32)
    assert np.allclose(weights.confidence(dense, lexical), [1.0, 0.0, 0.3])


def _corpus(name: str, n: int) -> list[LabelledQuery]:
    return [LabelledQuery(f"{name} {i}", "en", frozenset({"right"})) for i in range(n)]


def test_fit_prefers_settings_that_never_fall_below_a_part() -> None:
    corpora = {"a": _corpus("a", 4), "b": _corpus("b", 4), "c": _corpus("c", 4)}

    def rank(q: LabelledQuery, weights: FusionWeights | str) -> list[str]:
        good = ["right", "x"]
        bad = ["x", "y", "right"]
        if weights == "dense":
            return good if not q.query.startswith("c") else bad
        if weights == "lexical":
            return bad if not q.query.startswith("c") else good
        assert isinstance(weights, FusionWeights)
        # corpus c needs a low dense weight, the others a high one; 0.6 serves all
        if q.query.startswith("c"):
            return good if weights.dense_weight <= 0.6 else bad
        return good if weights.dense_weight >= 0.6 else bad

    best, table, parts = fit_fusion(rank, corpora)
    assert best.dense_weight == 0.6
    assert parts["c"] == (pytest.approx(1 / 3), 1.0)
    assert all(table[(0.6, k)][c] == 1.0 for k in (1.0, 60.0) for c in corpora)
    # left out in turn, each corpus gets a setting fitted on the others only
    def evaluate(name: str, w: FusionWeights) -> tuple[float, float, float, int]:
        return (*parts[name], table[(w.dense_weight, w.rank_constant)][name], 4)

    held = leave_one_corpus_out(table, parts, evaluate, 0.5)
    fits = {fit.corpus: (fit, point) for fit, point in held}
    assert fits["c"][1][0] >= 0.6  # fitted on a and b, which want a high dense weight
    assert fits["a"][0].margin == 0.0
    assert choose(table, parts, ["c"])[0] <= 0.6


def test_splits_keep_reporting_queries_out_of_fitting() -> None:
    queries = [
        LabelledQuery("q1", "en", frozenset({"a"}), "fit"),
        LabelledQuery("q2", "en", frozenset({"a"}), "report"),
        LabelledQuery("q3", "en", frozenset({"a"}), ""),
    ]
    assert [q.query for q in in_split(queries, "fit")] == ["q1", "q3"]
    assert [q.query for q in in_split(queries, "report")] == ["q2"]
    assert len(in_split(queries, "all")) == 3
    with pytest.raises(KnowledgeError, match="unknown split"):
        in_split(queries, "test")


def test_articles_rank_by_their_best_passage_in_each_retriever() -> None:
    """The Norwegian shipping question: the shipping article is first by dense, and second by
    BM25 through another of its passages; the refund article is first by BM25 only."""
    weights = FusionWeights(dense_weight=0.6, rank_constant=5)
    cosine = np.array([0.901, 0.895, 0.888, 0.80, 0.885])
    lexical = np.array([0.10, 0.62, 1.0, 0.96, 0.30])
    articles = np.array([0, 0, 1, 1, 2])  # shipping, shipping, refund, refund, other
    by_passage = weights.rank_values(cosine, lexical, None)
    assert int(np.argmax(by_passage)) == 2  # passage ranks: the refund passage wins
    by_article = weights.rank_values(cosine, lexical, None, articles)
    assert int(np.argmax(by_article)) in (0, 1)  # article ranks: shipping wins
    assert by_article[0] == pytest.approx(0.6 / 6 + 0.4 / 7, rel=1e-2)
    # within an article, the passage shown is the better one on its own
    assert by_article[0] > by_article[1]


def test_the_english_model_is_a_second_dense_vote() -> None:
    weights = FusionWeights(dense_weight=0.6, rank_constant=2, other_language=0.5)
    cosine = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    lexical = np.array([0.4, 0.5, 0.0], dtype=np.float32)
    english = np.array([0.2, 0.7, 0.1], dtype=np.float32)
    without = weights.rank_values(cosine, lexical, None)
    with_english = weights.rank_values(cosine, lexical, None, english=english)
    assert without[0] > without[1]
    assert with_english[1] > with_english[0]  # the English model's first choice tips it
    assert with_english[1] == pytest.approx(0.6 / 4 + 0.4 / 3 + 0.6 / 3)
    # by article: each article by its best passage in the English model too
    articles = np.array([0, 1, 1])
    by_article = weights.rank_values(cosine, lexical, None, articles, english)
    assert by_article[1] > by_article[0]


def test_the_title_vote_prefers_the_nearest_title_and_equal_titles_change_nothing() -> None:
    weights = FusionWeights(dense_weight=0.6, rank_constant=2, title_weight=0.3)
    cosine = np.array([0.9, 0.8, 0.1], dtype=np.float32)
    lexical = np.array([0.4, 0.5, 0.0], dtype=np.float32)
    articles = np.array([0, 1, 2])
    plain = weights.rank_values(cosine, lexical, None, articles)
    assert plain[0] > plain[1]
    title = np.array([0.2, 0.9, 0.1])
    voted = weights.rank_values(cosine, lexical, None, articles, title=title)
    assert voted[1] > voted[0]
    assert voted[1] - plain[1] == pytest.approx(0.3 / 3)
    same = weights.rank_values(cosine, lexical, None, articles, title=np.full(3, 0.5))
    assert np.allclose(same - plain, 0.3 / 3)  # one shared rank: the order stays
    none = weights.rank_values(cosine, lexical, None, articles, title=np.full(3, -np.inf))
    assert np.argsort(-none).tolist() == np.argsort(-plain).tolist()
    off = FusionWeights(dense_weight=0.6, rank_constant=2, title_weight=0.0)
    assert np.allclose(off.rank_values(cosine, lexical, None, articles, title=title),
                       off.rank_values(cosine, lexical, None, articles))
    assert FusionWeights.from_manifest(
        {"dense_weight": 0.6, "rank_constant": 2, "other_language": 0.5}
    ).title_weight == FusionWeights().title_weight
    with pytest.raises(KnowledgeError, match="bad fusion settings"):
        FusionWeights.from_manifest({"dense_weight": 0.6, "title_weight": 2})
