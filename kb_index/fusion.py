"""Hybrid fusion: weighted reciprocal-rank fusion, with one language preference.

Ranking. Each candidate article gets its rank among the candidates' articles by its best dense
cosine and by its best BM25 score (an article BM25 does not match ranks last), and the value

    dense_weight / (rank_constant + dense rank) + (1 - dense_weight) / (rank_constant + BM25 rank)

plus ``dense_weight / (rank_constant + rank by the English model)`` for an English query when the
version has an English model (embedder.py, KB_ENGLISH_MODEL), plus ``title_weight /
(rank_constant + title rank)`` (the article whose title is nearest the query first), all times
``other_language`` for an article in another language than the query's detected one.
(Ranking passages instead let an article win on one passage BM25 liked and another dense liked
less: "hvor lang tid tar frakten til Norge", searched in Norwegian as the bot does, found the
refund article, whose heading is "Hvor lang tid tar det?". Searched across all languages it is
still a near tie, since the Swedish shipping article takes dense rank 1.)
Ranks, unlike raw scores, mean the same in every corpus and with every model, so the fusion
carries over to a corpus it was not fitted on: chosen by leave-one-corpus-out evaluation over
the shipped queries (per language, "fit" split), SweFAQ and an English bank FAQ, it never fell
below the better of its two parts on the corpus left out (reports/kb_fusion.md). The defaults
are those values; `kb tune-fusion` refits them on labelled queries (cross-validated) and
``--apply`` publishes them in a version's manifest (versioned, hot-reloaded, rolled back).

Scores. What callers see is an absolute confidence in [0, 1] (``KB_MIN_SCORE`` is the "good
enough" line): ``dense_weight * dense + (1 - dense_weight) * bm25`` of the passage, both
calibrated per query and corpus (search.py). Hits are listed in fused-rank order and a hit's
score never exceeds the score of the hit above it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import product
from statistics import fmean

import numpy as np

from kb_index.errors import KnowledgeError
from kb_index.evaluation import LabelledQuery, score_ranking

GRID_WEIGHT = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8)
GRID_CONSTANT = (1.0, 2.0, 5.0, 10.0, 20.0, 60.0)
# fitting objective: mean MRR@10 minus this times the mean shortfall below the better part
SHORTFALL_PENALTY = 2.0


@dataclass(frozen=True)
class FusionWeights:
    dense_weight: float = 0.6
    rank_constant: float = 2.0
    other_language: float = 0.5
    # a vote for the article whose title the query is nearest to (the main model's cosines);
    # chosen on the fitting queries (reports/kb_variants.md)
    title_weight: float = 0.3

    @classmethod
    def from_manifest(cls, value: object) -> FusionWeights:
        """The fusion a version's manifest carries (``fusion``), else the defaults. Manifests
        of the per-language dense shares used before (keys en, sv, ...) fall back to them."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise KnowledgeError(f"bad fusion settings in manifest: {value!r}")
        if "dense_weight" not in value:
            return cls()  # the old per-language shares: not meaningful for rank fusion
        try:
            weights = cls(**{k: float(v) for k, v in value.items()})
        except (TypeError, ValueError) as exc:
            raise KnowledgeError(f"bad fusion settings in manifest: {value!r}") from exc
        if not (0 <= weights.dense_weight <= 1 and weights.rank_constant >= 0
                and 0 <= weights.other_language <= 1 and 0 <= weights.title_weight <= 1):
            raise KnowledgeError(f"bad fusion settings in manifest: {value!r}")
        return weights

    def to_manifest(self) -> dict[str, float]:
        return asdict(self)

    def rank_values(
        self,
        cosine: np.ndarray,
        lexical: np.ndarray,
        same_language: np.ndarray | None,
        articles: np.ndarray | None = None,
        english: np.ndarray | None = None,
        title: np.ndarray | None = None,
    ) -> np.ndarray:
        """The fused value of each candidate passage (higher is better).

        With ``articles`` (an article number per candidate) the ranks are those of the
        articles, each by its best passage in each retriever, so an article whose best
        dense passage and best BM25 passage differ still gets both; a passage's value is its
        article's, plus a small share of its own passage-level value to choose the passage
        shown. ``english``: the cosines of the English model (an English query), a second
        dense vote with the same weight as the first. ``title``: the cosine of the query with
        the title of each candidate's article (-inf: no title), a vote of ``title_weight``;
        equal titles share a rank, so titles that say nothing change nothing."""
        own = self._fuse(cosine, lexical, english)
        if articles is not None and len(articles):
            groups, index = np.unique(articles, return_inverse=True)
            best_cos = np.full(len(groups), -np.inf)
            best_lex = np.zeros(len(groups))
            np.maximum.at(best_cos, index, cosine)
            np.maximum.at(best_lex, index, lexical)
            best_en = None
            if english is not None:
                best_en = np.full(len(groups), -np.inf)
                np.maximum.at(best_en, index, english)
            own = self._fuse(best_cos, best_lex, best_en)[index] + 1e-3 * own
            if title is not None and self.title_weight:
                best_title = np.full(len(groups), -np.inf)
                np.maximum.at(best_title, index, title)
                own = own + (self.title_weight / (self.rank_constant + _shared_ranks(best_title)))[
                    index]
        if same_language is not None:
            own = np.where(same_language, own, own * self.other_language)
        return own

    def _fuse(
        self, cosine: np.ndarray, lexical: np.ndarray, english: np.ndarray | None = None
    ) -> np.ndarray:
        lexical_rank = _ranks(lexical)
        lexical_rank[lexical <= 0] = len(lexical) + 1
        k, w = self.rank_constant, self.dense_weight
        fused = w / (k + _ranks(cosine)) + (1.0 - w) / (k + lexical_rank)
        if english is not None:
            fused += w / (k + _ranks(english))
        return np.asarray(fused)

    def confidence(self, dense: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """Absolute score in [0, 1] from the two calibrated scores."""
        return np.clip(self.dense_weight * dense + (1.0 - self.dense_weight) * lexical, 0.0, 1.0)


def _ranks(values: np.ndarray) -> np.ndarray:
    """1 for the highest value, 2 for the next...; ties in candidate order."""
    ranks = np.empty(len(values))
    ranks[np.argsort(-values, kind="stable")] = np.arange(1, len(values) + 1)
    return ranks


def _shared_ranks(values: np.ndarray) -> np.ndarray:
    """Like _ranks, but equal values share the best of their ranks; -inf ranks last."""
    ordered = np.sort(-values)
    ranks = np.searchsorted(ordered, -values, side="left") + 1.0
    ranks[~np.isfinite(values)] = len(values) + 1
    return ranks


GridTable = dict[tuple[float, float], dict[str, float]]  # (weight, constant) -> corpus -> MRR


@dataclass(frozen=True)
class CorpusFit:
    corpus: str
    queries: int
    mrr_dense: float
    mrr_bm25: float
    mrr_fused: float

    @property
    def margin(self) -> float:
        return self.mrr_fused - max(self.mrr_dense, self.mrr_bm25)


def _mrr(ranks: Sequence[list[str]], queries: Sequence[LabelledQuery]) -> float:
    pairs = zip(ranks, queries, strict=True)
    return fmean(score_ranking(r, q.relevant)["mrr@10"] for r, q in pairs)


def fit_fusion(
    rank: Callable[[LabelledQuery, FusionWeights | str], list[str]],
    corpora: Mapping[str, Sequence[LabelledQuery]],
    start: FusionWeights | None = None,
) -> tuple[FusionWeights, GridTable, dict[str, tuple[float, float]]]:
    """Grid-search dense weight and rank constant over several corpora.

    ``rank(query, weights)`` returns article ids, best first; ``weights`` may also be "dense"
    or "lexical" for one retriever alone. The objective rewards MRR@10 and punishes falling
    below the better single retriever on any corpus. Returns the best weights, the MRR of every
    grid point per corpus, and the (dense, BM25) MRR per corpus.
    """
    start = start or FusionWeights()
    parts = {
        name: (_mrr([rank(q, "dense") for q in qs], qs), _mrr([rank(q, "lexical") for q in qs], qs))
        for name, qs in corpora.items()
    }
    table: dict[tuple[float, float], dict[str, float]] = {}
    for w, k in product(GRID_WEIGHT, GRID_CONSTANT):
        weights = FusionWeights(w, k, start.other_language, start.title_weight)
        table[(w, k)] = {
            name: _mrr([rank(q, weights) for q in qs], qs) for name, qs in corpora.items()
        }
    best = choose(table, parts, list(corpora))
    return FusionWeights(best[0], best[1], start.other_language, start.title_weight), table, parts


def choose(
    table: Mapping[tuple[float, float], Mapping[str, float]],
    parts: Mapping[str, tuple[float, float]],
    corpora: Sequence[str],
) -> tuple[float, float]:
    """The grid point with the best objective on ``corpora`` (ties: nearer w=0.5, larger k)."""

    def objective(point: tuple[float, float]) -> tuple[float, float, float]:
        values = [table[point][c] for c in corpora]
        short = [max(0.0, max(parts[c]) - table[point][c]) for c in corpora]
        return (fmean(values) - SHORTFALL_PENALTY * fmean(short), -abs(point[0] - 0.5), point[1])

    return max(table, key=objective)


def leave_one_corpus_out(
    table: Mapping[tuple[float, float], Mapping[str, float]],
    parts: Mapping[str, tuple[float, float]],
    evaluate: Callable[[str, FusionWeights], tuple[float, float, float, int]],
    other_language: float,
) -> list[tuple[CorpusFit, tuple[float, float]]]:
    """For each corpus: fit on all the others (``table``/``parts`` hold the fitting queries'
    figures), then ``evaluate(corpus, weights)`` -> (dense, bm25, fused MRR@10, queries) on its
    held-out queries."""
    out = []
    names = list(parts)
    for held in names:
        point = choose(table, parts, [c for c in names if c != held])
        dense, bm25, fused, n = evaluate(held, FusionWeights(point[0], point[1], other_language))
        out.append((CorpusFit(held, n, dense, bm25, fused), point))
    return out


def loco_table(rows: Sequence[tuple[CorpusFit, tuple[float, float]]]) -> str:
    lines = [
        "| corpus left out | queries | fitted on the others: dense weight, rank constant "
        "| dense | BM25 | fused | fused - best part |",
        "|---|---|---|---|---|---|---|",
    ]
    for fit, (w, k) in rows:
        lines.append(
            f"| {fit.corpus} | {fit.queries} | {w:g}, {k:g} | {fit.mrr_dense:.3f} | "
            f"{fit.mrr_bm25:.3f} | {fit.mrr_fused:.3f} | {fit.margin:+.3f} |"
        )
    return "\n".join(lines)
