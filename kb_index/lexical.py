"""BM25 over analysed terms (bm25s), with scores mapped to [0, 1] per query."""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1 = 1.2
B = 0.75


class LexicalIndex:
    """BM25 (Lucene variant) over one list of term lists; rows follow the passage order."""

    def __init__(self, model: bm25s.BM25, doc_freq: dict[str, int], n_docs: int) -> None:
        self.model = model
        self.doc_freq = doc_freq
        self.n_docs = n_docs

    @classmethod
    def build(cls, docs: Sequence[list[str]]) -> LexicalIndex:
        model = bm25s.BM25(k1=K1, b=B, method="lucene")
        # bm25s needs at least one term per document: empty ones get a placeholder
        model.index([d if d else ["\u2400"] for d in docs], show_progress=False)
        doc_freq: Counter[str] = Counter()
        for doc in docs:
            doc_freq.update(set(doc))
        return cls(model, dict(doc_freq), len(docs))

    def idf(self, term: str) -> float:
        df = self.doc_freq.get(term, 0)
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, terms: list[str]) -> np.ndarray:
        """Raw BM25 per row."""
        known = [t for t in dict.fromkeys(terms) if t in self.model.vocab_dict]
        if not known or self.n_docs == 0:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def normalized_scores(self, terms: list[str]) -> tuple[np.ndarray, float]:
        """Scores in [0, 1]: the BM25 score divided by what a passage of average length holding
        every query term once would get, so 1 means "all of the query matched". Unknown terms
        count at maximum IDF, so a query about something the corpus never mentions scores low.
        Also returns the coverage: the share of the query's IDF mass that the corpus knows."""
        unique = list(dict.fromkeys(terms))
        if not unique:
            return np.zeros(self.n_docs, dtype=np.float32), 0.0
        per_term = 1.0 / (1.0 + K1)  # tf=1, document of average length, Lucene BM25
        ideal = sum(self.idf(t) for t in unique) * per_term
        known_mass = sum(self.idf(t) for t in unique if t in self.model.vocab_dict) * per_term
        raw = self.scores(unique)
        if ideal <= 0:
            return np.zeros(self.n_docs, dtype=np.float32), 0.0
        return np.clip(raw / ideal, 0.0, 1.0).astype(np.float32), known_mass / ideal

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save(str(folder), show_progress=False)
        (folder / "doc_freq.json").write_text(
            json.dumps({"n_docs": self.n_docs, "doc_freq": self.doc_freq}), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> LexicalIndex:
        model = bm25s.BM25.load(str(folder), show_progress=False)
        data = json.loads((folder / "doc_freq.json").read_text(encoding="utf-8"))
        doc_freq = {str(k): int(v) for k, v in data["doc_freq"].items()}
        return cls(model, doc_freq, int(data["n_docs"]))
