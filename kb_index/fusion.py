"""Hybrid fusion: how much the dense side counts, per query language, learned from labels.

Both retrievers give each candidate a score in [0, 1] with an absolute meaning (see search.py).
The fused score is ``w * dense + (1 - w) * bm25``. ``w`` starts from a *dense share* for the
query's detected language and is then scaled by each side's best score for this query, so a
retriever that finds nothing gives way to the other.

The dense shares are learned: ``kb tune-fusion`` grid-searches them per language on labelled
queries (MRR@10), reports a two-fold cross-validated estimate next to the in-sample figure, and
with ``--apply`` publishes a new version whose manifest carries them (versioned, hot-reloaded,
rolled back like any other change). :data:`DEFAULT_DENSE_SHARE` holds the shares fitted on the
shipped query set with the packaged all-MiniLM-L6-v2 (reports/kb_fusion.md): the model is
English-only, so Chinese, and to a lesser degree Swedish, lean on BM25.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean

import numpy as np

from kb_index.errors import KnowledgeError
from kb_index.evaluation import LabelledQuery, score_ranking
from kb_index.types import LANGUAGES

UNKNOWN = "unknown"  # queries whose language could not be detected
DEFAULT_DENSE_SHARE: dict[str, float] = {
    "en": 0.9, "sv": 0.15, "nb": 0.8, "zh": 0.1, UNKNOWN: 0.4,
}
GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class FusionWeights:
    dense_share: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_DENSE_SHARE))

    @classmethod
    def from_manifest(cls, value: object) -> FusionWeights:
        """The weights a version's manifest carries (``fusion``), else the defaults."""
        if value is None:
            return cls()
        if not isinstance(value, dict) or not all(
            key in (*LANGUAGES, UNKNOWN) and isinstance(share, (int, float)) and 0 <= share <= 1
            for key, share in value.items()
        ):
            raise KnowledgeError(f"bad fusion weights in manifest: {value!r}")
        return cls({**DEFAULT_DENSE_SHARE, **{k: float(v) for k, v in value.items()}})

    def share(self, qlang: str | None) -> float:
        return float(self.dense_share.get(qlang or UNKNOWN, self.dense_share[UNKNOWN]))

    def weight(self, qlang: str | None, dense_top: float, lexical_top: float) -> float:
        """Dense weight for one query: the language's share scaled by each side's best score."""
        prior = self.share(qlang)
        d = prior * dense_top
        lx = (1.0 - prior) * lexical_top
        if d + lx <= 0:
            return prior
        return d / (d + lx)

    def fuse(self, nd: np.ndarray, nl: np.ndarray, qlang: str | None) -> np.ndarray:
        w = self.weight(qlang, float(nd.max(initial=0.0)), float(nl.max(initial=0.0)))
        return w * nd + (1.0 - w) * nl


@dataclass(frozen=True)
class LanguageFit:
    language: str
    queries: int
    share: float
    previous_share: float
    mrr_previous: float
    mrr_fitted: float
    mrr_cross_validated: float
    mrr_dense: float
    mrr_bm25: float


def _mrr(ranks: Sequence[list[str]], queries: Sequence[LabelledQuery]) -> list[float]:
    return [score_ranking(r, q.relevant)["mrr@10"] for r, q in zip(ranks, queries, strict=True)]


def _best(values: Mapping[float, list[float]], rows: Sequence[int]) -> float:
    """The share with the highest mean MRR on ``rows`` (ties: the one nearest 0.5)."""
    return max(values, key=lambda s: (fmean(values[s][i] for i in rows), -abs(s - 0.5)))


def fit_dense_shares(
    rank: Callable[[LabelledQuery, FusionWeights], list[str]],
    queries: Sequence[LabelledQuery],
    current: FusionWeights,
    grid: Sequence[float] = GRID,
) -> tuple[FusionWeights, list[LanguageFit]]:
    """Per language, the dense share from ``grid`` with the best MRR@10 on its queries.

    ``rank(query, weights)`` returns article ids, best first. The cross-validated figure picks
    the share on every other query and scores it on the rest (and the other way round): an
    honest estimate of what the fitted share gives on queries it was not fitted on.
    """
    by_lang: dict[str, list[LabelledQuery]] = {}
    for q in queries:
        by_lang.setdefault(q.lang or UNKNOWN, []).append(q)
    shares = dict(current.dense_share)
    fits = []
    for lang, subset in sorted(by_lang.items()):
        per_share = {
            s: _mrr([rank(q, FusionWeights({**shares, lang: s})) for q in subset], subset)
            for s in grid
        }
        every = list(range(len(subset)))
        chosen = _best(per_share, every)
        halves = (every[0::2], every[1::2])
        held_out: list[float] = []
        for fit_rows, test_rows in (halves, halves[::-1]):
            if fit_rows and test_rows:
                pick = _best(per_share, fit_rows)
                held_out.extend(per_share[pick][i] for i in test_rows)
        previous = current.share(lang)
        fits.append(
            LanguageFit(
                language=lang,
                queries=len(subset),
                share=chosen,
                previous_share=previous,
                mrr_previous=fmean(
                    _mrr([rank(q, current) for q in subset], subset)
                ),
                mrr_fitted=fmean(per_share[chosen]),
                mrr_cross_validated=fmean(held_out) if held_out else fmean(per_share[chosen]),
                mrr_dense=fmean(per_share[1.0]) if 1.0 in per_share else float("nan"),
                mrr_bm25=fmean(per_share[0.0]) if 0.0 in per_share else float("nan"),
            )
        )
        shares[lang] = chosen
    return FusionWeights(shares), fits


def fits_table(fits: Sequence[LanguageFit]) -> str:
    lines = [
        "| language | queries | dense share (was) | MRR@10 before | fitted | fitted, 2-fold CV "
        "| dense only | BM25 only |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in fits:
        lines.append(
            f"| {f.language} | {f.queries} | {f.share:.2f} ({f.previous_share:.2f}) | "
            f"{f.mrr_previous:.3f} | {f.mrr_fitted:.3f} | {f.mrr_cross_validated:.3f} | "
            f"{f.mrr_dense:.3f} | {f.mrr_bm25:.3f} |"
        )
    return "\n".join(lines)
