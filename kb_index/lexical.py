"""BM25 over analysed terms, scored by bm25s, with scores mapped to [0, 1] per query.

Passages are stored as term counts (:class:`TermCounts`, one per segment, see segments.py).
Building the index means computing Lucene BM25 weights for every (passage, term) pair from
the counts, with global document frequencies and average length. That is a few vectorised
NumPy/SciPy operations, so a version is assembled from its segments in a fraction of a second
and an update never re-tokenises unchanged passages. bm25s then scores queries over the
weight matrix (its CSC layout: one column per term).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import scipy.sparse as sp

from kb_index.errors import KnowledgeUnavailable
from nordvik.text import fold_diacritics

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class TermCounts:
    """Term frequencies of some passages: a CSR matrix (passage x term) over ``vocab``."""

    counts: sp.csr_matrix
    vocab: tuple[str, ...]

    @classmethod
    def from_documents(cls, docs: Sequence[list[str]]) -> TermCounts:
        vocab: dict[str, int] = {}
        indptr = [0]
        indices: list[int] = []
        data: list[int] = []
        for doc in docs:
            per_doc: dict[int, int] = {}
            for term in doc:
                tid = vocab.setdefault(term, len(vocab))
                per_doc[tid] = per_doc.get(tid, 0) + 1
            indices.extend(per_doc)
            data.extend(per_doc.values())
            indptr.append(len(indices))
        counts = sp.csr_matrix(
            (
                np.asarray(data, dtype=np.float32),
                np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(docs), len(vocab)),
        )
        return cls(counts, tuple(vocab))

    @property
    def n_docs(self) -> int:
        return int(self.counts.shape[0])

    def rows(self, keep: np.ndarray) -> TermCounts:
        """Only the passages whose rows are listed in ``keep``."""
        return TermCounts(self.counts[keep], self.vocab)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        sp.save_npz(folder / "terms.npz", self.counts, compressed=False)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> TermCounts:
        try:
            counts = sp.load_npz(folder / "terms.npz").tocsr()
            vocab = tuple(json.loads((folder / "vocab.json").read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            raise KnowledgeUnavailable(f"{folder}: unreadable term counts ({exc})") from exc
        if counts.shape[1] != len(vocab):
            raise KnowledgeUnavailable(f"{folder}: term counts do not match the vocabulary")
        return cls(counts, vocab)


def merge_counts(parts: Sequence[TermCounts]) -> TermCounts:
    """One TermCounts over the union of the parts' vocabularies, rows in the parts' order."""
    vocab: dict[str, int] = {}
    blocks = []
    for part in parts:
        mapping = np.fromiter(
            (vocab.setdefault(t, len(vocab)) for t in part.vocab), dtype=np.int32,
            count=len(part.vocab),
        )
        c = part.counts
        blocks.append((c.data, mapping[c.indices] if len(c.indices) else c.indices, c.indptr))
    n_vocab = len(vocab)
    matrices = [
        sp.csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, n_vocab))
        for data, indices, indptr in blocks
    ]
    if not matrices:
        return TermCounts(sp.csr_matrix((0, 0), dtype=np.float32), ())
    return TermCounts(sp.vstack(matrices, format="csr"), tuple(vocab))


class LexicalIndex:
    """Lucene BM25 over term counts; rows follow the passage order of the version."""

    def __init__(self, terms: TermCounts) -> None:
        counts = terms.counts
        self.n_docs = int(counts.shape[0])
        self.vocab = {t: i for i, t in enumerate(terms.vocab)}
        # document frequency: every stored (passage, term) pair is one passage containing it
        df = np.bincount(counts.indices, minlength=len(terms.vocab)).astype(np.float64)
        self._df = df
        doc_len = np.asarray(counts.sum(axis=1)).ravel()
        avg_len = float(doc_len.mean()) if self.n_docs else 1.0
        idf = np.log1p((self.n_docs - df + 0.5) / (df + 0.5))
        rows = np.repeat(np.arange(self.n_docs), np.diff(counts.indptr))
        tf = counts.data.astype(np.float64)
        norm = K1 * (1.0 - B + B * doc_len[rows] / max(avg_len, 1e-9))
        weights = (idf[counts.indices] * tf / (tf + norm)).astype(np.float32)
        matrix = sp.csr_matrix(
            (weights, counts.indices, counts.indptr), shape=counts.shape
        ).tocsc()
        self.model = bm25s.BM25(k1=K1, b=B, method="lucene")
        self.model.scores = {
            "data": matrix.data,
            "indices": matrix.indices.astype(np.int32),
            "indptr": matrix.indptr,
            "num_docs": self.n_docs,
        }
        self.model.vocab_dict = self.vocab
        self.model.unique_token_ids_set = set(self.vocab.values())
        self.model.nonoccurrence_array = None
        # each indexed term with diacritics under its form without them, the most frequent one
        # when several share a form (`spelled_as_indexed`)
        self._marked: dict[str, str] = {}
        marked = [term for term in self.vocab if not term.isascii()]
        for term in sorted(marked, key=lambda t: -df[self.vocab[t]]):
            plain = fold_diacritics(term)
            if plain != term:
                self._marked.setdefault(plain, term)

    @classmethod
    def build(cls, docs: Sequence[list[str]]) -> LexicalIndex:
        return cls(TermCounts.from_documents(docs))

    def spelled_as_indexed(self, terms: list[str]) -> list[str]:
        """The query's terms, each one the index does not hold replaced by the indexed term it is
        the diacritic-free spelling of ("bestallning" -> "beställning", typed on a keyboard
        without å, ä, ö, æ, ø); a term the index holds is kept as typed ("har" stays "har",
        though "hår" folds to it too)."""
        return [t if t in self.vocab else self._marked.get(fold_diacritics(t), t) for t in terms]

    def idf(self, term: str) -> float:
        tid = self.vocab.get(term)
        df = float(self._df[tid]) if tid is not None else 0.0
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def scores(self, terms: list[str]) -> np.ndarray:
        """Raw BM25 per row."""
        known = [t for t in dict.fromkeys(terms) if t in self.vocab]
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
        known_mass = sum(self.idf(t) for t in unique if t in self.vocab) * per_term
        raw = self.scores(unique)
        if ideal <= 0:
            return np.zeros(self.n_docs, dtype=np.float32), 0.0
        return np.clip(raw / ideal, 0.0, 1.0).astype(np.float32), known_mass / ideal
