"""One version folder loaded into memory: its manifest, articles, live passages (records, ids,
vectors, terms), title and English vectors, the dense index, per-row filters and the dense
calibration sample. Querying it is search.IndexVersion's part.

Dense calibration, per query and corpus (see search.DENSE_SPREADS): a fixed sample of the
version's passages (CALIBRATION_SAMPLE) gives each query its median cosine, what an unrelated
passage scores for this query with this model; the corpus's spread is the median, over some of
its passages (SPREAD_PROBES), of the distance from the median to the 90th percentile of their
cosines with the sample (e5: 0.033, MiniLM: 0.17 on the shipped articles).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kb_index import dense, segments
from kb_index.errors import KnowledgeUnavailable
from kb_index.fusion import FusionWeights
from kb_index.lexical import LexicalIndex
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES
from kb_index.version_files import DENSE_FILE, TITLES_FILE, article_metas
from kb_index.versions import read_current_manifest

if TYPE_CHECKING:
    import faiss

CALIBRATION_SAMPLE = 2048
SPREAD_PROBES = 64


def corpus_spread(sample: np.ndarray) -> float:
    """How far above the median cosine the 90th percentile lies, for a typical passage of the
    sample against the whole sample (a property of the model and the corpus)."""
    if len(sample) < 2:
        return 0.1
    sims = sample[:SPREAD_PROBES] @ sample.T
    spread = np.percentile(sims, 90, axis=1) - np.median(sims, axis=1)
    return max(float(np.median(spread)), 1e-3)


class LoadedVersion:
    """One complete version folder, fully loaded into memory (its segments' live passages)."""

    def __init__(
        self, path: Path, settings: KbSettings, only_segments: list[str] | None = None
    ) -> None:
        """``only_segments``: load the live passages of these segments only (the verification
        of an update searches its new segment this way; the counts then do not match)."""
        self.path = path
        self.settings = settings
        self.manifest = read_current_manifest(path)
        self.name = str(self.manifest["version"])
        self.fusion = FusionWeights.from_manifest(self.manifest.get("fusion"))
        self.articles = article_metas(path)
        data = segments.assemble(
            path, self.manifest["segments"] if only_segments is None else only_segments,
            self.manifest["article_segments"],
            int(self.manifest["dimension"]),
        )
        self.n_passages = len(data)
        self.records = data.records
        self.ids = data.ids
        self.row_of_id = {int(pid): i for i, pid in enumerate(self.ids.tolist())}
        self.vectors = data.vectors
        # the English model (manifest "english_model"): a second dense vote for English queries
        self.english_vectors = data.english
        # the main model's vectors of the article titles, in articles.json order
        titles_path = path / TITLES_FILE
        self.title_vectors = np.load(titles_path) if titles_path.exists() else None
        self.index = self._dense_index()
        self.lexical = LexicalIndex(data.terms)
        self.row_article = data.article_ids
        # per-row filters come from the article the passage belongs to
        order = {aid: i for i, aid in enumerate(self.articles)}
        meta = list(self.articles.values())
        try:
            self.row_article_no = np.array([order[aid] for aid in data.article_ids], np.int64)
        except KeyError as exc:
            raise KnowledgeUnavailable(
                f"version {self.name}: passage of unknown article {exc.args[0]!r}"
            ) from exc
        self.row_lang = np.array([a.language for a in meta])[self.row_article_no] if meta else (
            np.zeros(0, dtype=str))
        self.row_audience = np.array([a.audience for a in meta])[self.row_article_no] if meta else (
            np.zeros(0, dtype=str))
        sample = np.random.default_rng(0).permutation(self.n_passages)[:CALIBRATION_SAMPLE]
        self.calibration = np.ascontiguousarray(self.vectors[np.sort(sample)], dtype=np.float32)
        self.dense_spread = corpus_spread(self.calibration)

    def _dense_index(self) -> faiss.Index:
        """The stored dense index, or a Flat index over the live vectors in segment order
        (dense.kept_in_segments), with the manifest's search parameters applied."""
        if self.manifest.get("dense_file", True):
            index = dense.load_index(self.path / DENSE_FILE)
        else:
            index = dense.build_index(str(self.manifest["index_factory"]), self.ids,
                                      self.vectors)
            # the index holds the same rows in the same order: keep one copy, the index's
            stored = dense.flat_storage(index)
            if stored is not None:
                self.vectors = stored
        dense.apply_search_params(index, str(self.manifest.get("search_params", "")))
        return index

    def filter_mask(
        self, lang: str | None, audience: tuple[str, ...], tags: tuple[str, ...]
    ) -> np.ndarray | None:
        """The rows of passages in ``lang``, for ``audience``, of articles with any of
        ``tags``; None when every row qualifies."""
        mask = np.ones(self.n_passages, dtype=bool)
        if lang:
            mask &= self.row_lang == lang
        if set(audience) != set(AUDIENCES):
            mask &= np.isin(self.row_audience, list(audience))
        if tags:
            wanted = set(tags)
            tagged = np.array([bool(wanted.intersection(a.tags)) for a in self.articles.values()])
            mask &= tagged[self.row_article_no]
        return None if mask.all() else mask

    def check_counts(self) -> None:
        counts = self.manifest["counts"]
        found = {
            "articles": len(self.articles),
            "passages": self.n_passages,
            "vectors": int(self.vectors.shape[0]),
            "dense": int(self.index.ntotal),
            "lexical": int(self.lexical.n_docs),
            "distinct ids": len(self.row_of_id),
        }
        if self.manifest.get("title_vectors"):
            titles = self.title_vectors
            found["title vectors"] = -1 if titles is None else int(titles.shape[0])
        if self.manifest.get("english_model"):
            english = self.english_vectors
            found["English vectors"] = -1 if english is None else int(english.shape[0])
        expected_passages = int(counts["passages"])
        problems = [
            f"{key}={value}"
            for key, value in found.items()
            if value != (int(counts["articles"]) if key in ("articles", "title vectors")
                         else expected_passages)
        ]
        if problems:
            raise KnowledgeUnavailable(
                f"version {self.name}: counts do not match the manifest ({', '.join(problems)})"
            )
