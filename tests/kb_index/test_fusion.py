"""Learned fusion weights: validation, fitting per language, cross-validated estimate."""

import numpy as np
import pytest

from kb_index.errors import KnowledgeError
from kb_index.evaluation import LabelledQuery
from kb_index.fusion import DEFAULT_DENSE_SHARE, UNKNOWN, FusionWeights, fit_dense_shares


def test_manifest_weights_are_validated_and_completed() -> None:
    assert FusionWeights.from_manifest(None).dense_share == DEFAULT_DENSE_SHARE
    weights = FusionWeights.from_manifest({"zh": 0.0})
    assert weights.share("zh") == 0.0 and weights.share("en") == DEFAULT_DENSE_SHARE["en"]
    assert weights.share(None) == DEFAULT_DENSE_SHARE[UNKNOWN]
    for bad in ({"de": 0.5}, {"en": 1.5}, {"en": "high"}, ["en"]):
        with pytest.raises(KnowledgeError, match="bad fusion weights"):
            FusionWeights.from_manifest(bad)


def test_fuse_gives_way_to_the_side_that_found_something() -> None:
    weights = FusionWeights({**DEFAULT_DENSE_SHARE, "en": 0.5})
    nd = np.array([0.0, 0.0], dtype=np.float32)
    nl = np.array([0.9, 0.3], dtype=np.float32)
    assert np.allclose(weights.fuse(nd, nl, "en"), nl)  # dense found nothing: BM25 decides
    assert np.allclose(weights.fuse(nl, nd, "en"), nl)


def _queries(lang: str, n: int) -> list[LabelledQuery]:
    return [LabelledQuery(f"{lang} question {i}", lang, frozenset({"right"})) for i in range(n)]


def test_fit_picks_the_share_each_language_needs() -> None:
    queries = _queries("zh", 8) + _queries("en", 8)

    def rank(query: LabelledQuery, weights: FusionWeights) -> list[str]:
        # zh is answered only with little dense share, en only with a lot
        share = weights.share(query.lang)
        good = share <= 0.1 if query.lang == "zh" else share >= 0.8
        return ["right", "wrong"] if good else ["wrong", "other", "right"]

    current = FusionWeights({**DEFAULT_DENSE_SHARE, "en": 0.5, "zh": 0.5})
    weights, fits = fit_dense_shares(rank, queries, current)
    assert weights.share("zh") <= 0.1 and weights.share("en") >= 0.8
    by_lang = {f.language: f for f in fits}
    for lang in ("en", "zh"):
        fit = by_lang[lang]
        assert fit.queries == 8 and fit.previous_share == 0.5
        assert fit.mrr_previous == pytest.approx(1 / 3)
        assert fit.mrr_fitted == fit.mrr_cross_validated == 1.0
    assert by_lang["zh"].mrr_bm25 == 1.0 and by_lang["zh"].mrr_dense == pytest.approx(1 / 3)
    assert weights.share("sv") == DEFAULT_DENSE_SHARE["sv"]  # no sv queries: left alone
