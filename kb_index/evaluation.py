"""Retrieval quality: recall@1/5/10, MRR@10 and nDCG@10 over a labelled query file."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from kb_index.errors import KnowledgeError
from kb_index.types import LANGUAGES

METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")
# Labelled queries are split once, for good: fusion and calibration are fitted on "fit",
# and every figure the project reports comes from "report".
SPLITS = ("fit", "report")


@dataclass(frozen=True)
class LabelledQuery:
    query: str
    lang: str | None
    relevant: frozenset[str]
    split: str = ""


def in_split(queries: Iterable[LabelledQuery], split: str) -> list[LabelledQuery]:
    """The queries of one split ("fit" or "report"); "all" keeps every query. Queries without
    a split (a file that has none) may be fitted on, never reported."""
    if split == "all":
        return list(queries)
    if split not in SPLITS:
        raise KnowledgeError(f"unknown split {split!r} (expected fit, report or all)")
    return [q for q in queries if q.split == split or (split == "fit" and not q.split)]


def load_qrels(path: Path) -> list[LabelledQuery]:
    """JSON lines: {"query": ..., "lang": ..., "relevant": [article ids]}."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path}: cannot be read as UTF-8 text") from exc
    queries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise KnowledgeError(f"{path}:{number}: not valid JSON") from exc
        if not isinstance(item, dict) or not str(item.get("query", "")).strip():
            raise KnowledgeError(f"{path}:{number}: missing query")
        relevant = item.get("relevant")
        if not isinstance(relevant, list) or not relevant:
            raise KnowledgeError(f"{path}:{number}: relevant must be a non-empty list of ids")
        lang = item.get("lang")
        if lang is not None and lang not in LANGUAGES:
            raise KnowledgeError(f"{path}:{number}: unknown lang {lang!r}")
        split = item.get("split", "")
        if split not in ("", *SPLITS):
            raise KnowledgeError(f"{path}:{number}: unknown split {split!r} (fit or report)")
        queries.append(
            LabelledQuery(str(item["query"]), lang, frozenset(map(str, relevant)), split)
        )
    if not queries:
        raise KnowledgeError(f"{path}: no queries")
    return queries


def fold_votes(
    queries: list[LabelledQuery], pairs: Iterable[tuple[str, str]]
) -> list[LabelledQuery]:
    """Add agents' helpful votes (query, article id) as extra relevant articles or queries."""
    extra: dict[str, set[str]] = {}
    for query, article_id in pairs:
        extra.setdefault(query.strip(), set()).add(article_id)
    out = []
    for q in queries:
        more = extra.pop(q.query.strip(), set())
        out.append(LabelledQuery(q.query, q.lang, q.relevant | frozenset(more), q.split))
    out.extend(LabelledQuery(query, None, frozenset(ids)) for query, ids in extra.items())
    return out


def score_ranking(ranked: list[str], relevant: frozenset[str]) -> dict[str, float]:
    result = {}
    for cut in (1, 5, 10):
        found = len(relevant.intersection(ranked[:cut]))
        result[f"recall@{cut}"] = found / len(relevant)
    rr = 0.0
    for position, article_id in enumerate(ranked[:10], start=1):
        if article_id in relevant:
            rr = 1.0 / position
            break
    result["mrr@10"] = rr
    dcg = sum(
        1.0 / math.log2(position + 1)
        for position, article_id in enumerate(ranked[:10], start=1)
        if article_id in relevant
    )
    ideal = sum(1.0 / math.log2(p + 1) for p in range(1, min(len(relevant), 10) + 1))
    result["ndcg@10"] = dcg / ideal if ideal else 0.0
    return result


def evaluate(
    rank: Callable[[LabelledQuery], list[str]],
    queries: list[LabelledQuery],
    *,
    progress: bool = False,
    desc: str = "eval",
) -> dict[str, float]:
    """Mean of each metric over the queries; ``rank`` returns article ids, best first."""
    totals = dict.fromkeys(METRICS, 0.0)
    for q in tqdm(queries, desc=desc, unit="query", disable=not progress):
        for name, value in score_ranking(rank(q), q.relevant).items():
            totals[name] += value
    return {name: value / len(queries) for name, value in totals.items()}


def markdown_table(rows: dict[str, dict[str, float]], first: str = "retriever") -> str:
    lines = [
        "| " + " | ".join((first, *METRICS)) + " |",
        "|" + "---|" * (len(METRICS) + 1),
    ]
    for name, metrics in rows.items():
        lines.append("| " + " | ".join([name, *(f"{metrics[m]:.3f}" for m in METRICS)]) + " |")
    return "\n".join(lines)
