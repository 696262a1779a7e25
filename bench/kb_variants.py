"""Ranking variants for the knowledge index, judged on fitting queries only.

    python -m bench.kb_variants [--swefaq PATH] [--bankfaq PATH]

Uses the corpora `bench.kb_bench quality` builds (e5 and MiniLM, same passages) and scores
ranking variants on the shipped queries' `fit` split per language, SweFAQ dev and BankFAQ
(never the `report` split): how the English model and the title vote were chosen, and the
ideas that did not help. Prints a markdown table and writes reports/kb_variants.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from statistics import fmean

import numpy as np

from bench.kb_bench import BANKFAQ, SWEFAQ, _corpora, _write_report
from kb_index.evaluation import LabelledQuery, in_split, score_ranking
from kb_index.lexical import LexicalIndex
from kb_index.nlp import analyze
from kb_index.search import IndexVersion
from kb_index.types import AUDIENCES


@dataclass(frozen=True)
class QueryData:
    rows: np.ndarray
    articles: np.ndarray  # article number per candidate
    e5: np.ndarray
    minilm: np.ndarray
    lexical: np.ndarray
    title: np.ndarray
    titled: np.ndarray
    titlecos: np.ndarray
    same: np.ndarray | None
    lang: str | None


def _ranks(values: np.ndarray, zero_last: bool = False) -> np.ndarray:
    n = len(values)
    rank = np.empty(n)
    rank[np.argsort(-values, kind="stable")] = np.arange(1, n + 1)
    if zero_last:
        rank[values <= 0] = n + 1
    return rank


def _article_best(values: np.ndarray, index: np.ndarray, groups: int) -> np.ndarray:
    best = np.full(groups, -np.inf)
    np.maximum.at(best, index, values)
    return best


def _article_top2(values: np.ndarray, index: np.ndarray, groups: int, beta: float) -> np.ndarray:
    """Best passage plus ``beta`` times the second best (an article with two matching passages
    ranks above one with a single one of the same best score)."""
    best = _article_best(values, index, groups)
    rest = np.where(values >= best[index], -np.inf, values)
    second = _article_best(rest, index, groups)
    second = np.where(np.isfinite(second), second, 0.0)
    return best + beta * np.maximum(second, 0.0)


Variant = Callable[[QueryData], np.ndarray]


def rrf(weights: dict[str, float], k: float = 2.0, other: float = 0.5, beta: float = 0.0,
        en_only: dict[str, float] | None = None, skip: tuple[str, ...] = ()) -> Variant:
    """Article-level weighted RRF over the named retrievers (e5, minilm, lexical); ``en_only``:
    other weights for queries detected as English."""

    def fn(d: QueryData) -> np.ndarray:
        w = weights
        if en_only is not None and (d.lang == "en" if not skip else d.lang not in skip):
            w = en_only
        groups, index = np.unique(d.articles, return_inverse=True)
        total = np.zeros(len(groups))
        for name, weight in w.items():
            if not weight:
                continue
            values = getattr(d, name)
            per = (_article_top2(values, index, len(groups), beta) if beta
                   else _article_best(values, index, len(groups)))
            sparse = name in ("lexical", "title", "titled", "titlecos")
            if sparse:
                per = np.where(np.isfinite(per), per, 0.0)
            total += weight / (k + _ranks(per, zero_last=sparse))
        own = total[index]
        if d.same is not None:
            own = np.where(d.same, own, own * other)
        return own

    return fn


def collect(e5: IndexVersion, minilm: IndexVersion, queries: list[LabelledQuery]
            ) -> list[QueryData]:
    row_of_mini = minilm.row_of_id
    recs = [e5.records.get(r) for r in range(e5.n_passages)]
    heads = LexicalIndex.build([analyze(" ".join([r["title"], *r["heading_path"]]), r["language"])
                                for r in recs])
    boosted = LexicalIndex.build([
        analyze(" ".join([r["title"], *r["heading_path"]]), r["language"]) * 2
        + analyze(r["text"], r["language"]) for r in recs])
    names = list(e5.articles)
    titles = [e5.articles[a].title or "" for a in names]
    tvec = e5.embedder.encode(titles) if any(titles) else np.zeros((len(names), 384), np.float32)
    tvec[[not t for t in titles]] = 0  # no title: ranked last (below any cosine)
    out = []
    for q in queries:
        c = e5.candidates(q.query, k=10, audience=AUDIENCES)
        assert c is not None
        ids = e5.ids[c.rows]
        mrows = np.array([row_of_mini[int(i)] for i in ids])
        qv = minilm.query_vector(q.query)
        mcos = np.asarray(minilm.vectors[mrows], dtype=np.float32) @ qv
        terms = analyze(q.query, c.language or "en")
        th = heads.normalized_scores(terms)[0][c.rows]
        tb = boosted.normalized_scores(terms)[0][c.rows]
        tc = (tvec @ e5.query_vector(q.query))[e5.row_article_no[c.rows]]
        out.append(QueryData(c.rows, e5.row_article_no[c.rows], c.cosine, mcos, c.lexical,
                             th, tb, tc, c.same_language, c.language))
    return out


def mrr(version: IndexVersion, data: list[QueryData], queries: list[LabelledQuery],
        variant: Variant) -> float:
    today = np.datetime64("today").astype(object)
    scores = []
    for d, q in zip(data, queries, strict=True):
        order = variant(d)
        hits = version._hits(d.rows, order, np.zeros(len(order)), 10, today)
        scores.append(score_ranking([h.article_id for h in hits], q.relevant)["mrr@10"])
    return fmean(scores)


def variants() -> dict[str, Variant]:
    """Each idea against the product's ranking before them (e5 + BM25, weight 0.6, k 2)."""
    base = {"e5": 0.6, "lexical": 0.4}
    en3 = {"e5": 0.6, "minilm": 0.6, "lexical": 0.4}
    thirds = {"e5": 1 / 3, "minilm": 1 / 3, "lexical": 1 / 3}
    out: dict[str, Variant] = {
        "before: e5 + BM25 (0.6, k 2)": rrf(base),
        "e5 alone": rrf({"e5": 1.0}),
        "MiniLM alone": rrf({"minilm": 1.0}),
        "BM25 alone": rrf({"lexical": 1.0}),
        # 1. a per-language dense model
        "en: MiniLM instead of e5": rrf(base, en_only={"minilm": 0.6, "lexical": 0.4}),
        "en: MiniLM a second dense vote (e5 .6, MiniLM .6, BM25 .4)": rrf(base, en_only=en3),
        "en: e5, MiniLM, BM25 a third each": rrf(base, en_only=thirds),
        "en: e5 .35, MiniLM .35, BM25 .4": rrf(
            base, en_only={"e5": 0.35, "minilm": 0.35, "lexical": 0.4}),
        "every language but zh: a third each": rrf(base, en_only=thirds, skip=("zh",)),
        "every language: a third each": rrf(thirds),
        # 2. passage text, aggregation, BM25 fields
        "best passage + 0.05 x the second (cosines, BM25)": rrf(base, beta=0.05),
        "best passage + 0.1 x the second": rrf(base, beta=0.1),
        "BM25 with title and headings counted twice": rrf({"e5": 0.6, "titled": 0.4}),
        "+ a title-and-headings BM25 vote 0.1": rrf({**base, "title": 0.1}),
        "+ a title-and-headings BM25 vote 0.2": rrf({**base, "title": 0.2}),
        # 3. fusion refinements
        "other language x0.3": rrf(base, other=0.3),
        "other language x0.7": rrf(base, other=0.7),
    }
    for t in (0.1, 0.2, 0.3, 0.4):
        out[f"e5 title vote {t} (no MiniLM)"] = rrf({**base, "titlecos": t})
    for t in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4):
        out[f"en MiniLM vote + e5 title vote {t}"] = rrf(
            {**base, "titlecos": t}, en_only={**en3, "titlecos": t})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--swefaq", default=str(SWEFAQ))
    parser.add_argument("--bankfaq", default=str(BANKFAQ))
    args = parser.parse_args(argv)
    e5 = _corpora("e5", args)
    mini = _corpora("minilm", args)
    sets: list[tuple[str, IndexVersion, list[QueryData], list[LabelledQuery]]] = []
    for name, (version, queries, _origin) in e5.items():
        if name == "shipped":
            groups = [(f"shipped/{lang} fit", [q for q in in_split(queries, "fit")
                                               if q.lang == lang])
                      for lang in ("en", "sv", "nb", "zh")]
        else:
            groups = [(name, queries)]
        for label, qs in groups:
            sets.append((label, version, collect(version, mini[name][0], qs), qs))
    table = ["| variant | " + " | ".join(s[0] for s in sets) + " | mean |",
             "|---|" + "---|" * (len(sets) + 1)]
    for label, variant in variants().items():
        values = [mrr(v, d, q, variant) for _, v, d, q in sets]
        table.append(f"| {label} | " + " | ".join(f"{x:.3f}" for x in values)
                     + f" | {fmean(values):.3f} |")
        print(table[-1], flush=True)
    _write_report("variants", "Knowledge index: ranking variants on fitting queries",
                  "MRR@10 on the shipped queries' `fit` split per language (never the `report` "
                  "split), SweFAQ dev and BankFAQ, open search, ranked by article as the "
                  "product ranks (best passage per retriever, weighted reciprocal ranks, rank "
                  "constant 2, other languages x0.5 unless said). The candidates are e5's and "
                  "BM25's; MiniLM (the packaged all-MiniLM-L6-v2) re-scores them. `en:` applies "
                  "to queries detected as English. Title votes: the cosine of the query with "
                  "the article's title embedded by e5 (SweFAQ and BankFAQ answers have no "
                  "title: no vote). The shipped ranking is `en MiniLM vote + e5 title vote "
                  "0.3`: the best mean of the four languages' fitting figures.\n\n"
                  + "\n".join(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
