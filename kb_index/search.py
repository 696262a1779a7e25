"""Querying: a loaded index version (loaded_version), hybrid ranking, and the hot-reloading
live index.

Hybrid ranking (see README): the candidates of both retrievers are ranked by weighted
reciprocal-rank fusion of their articles, preferring the query's language (fusion.py); an
English query is also ranked by the English model's cosines, and every query by the cosine of
the article titles. Each hit's
score is an absolute confidence in [0, 1] built from two calibrated scores: dense, the query's
cosine above its chance similarity in this corpus (the median cosine of the query with a fixed
sample of the version's passages), in units of the corpus's spread; BM25, the share of an ideal
match.
"""

from __future__ import annotations

import copy
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path

import numpy as np

from kb_index import dense
from kb_index.embedder import Embedder, get_embedder
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.fusion import FusionWeights
from kb_index.loaded_version import LoadedVersion
from kb_index.nlp import analyze
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, LANGUAGES, Hit
from kb_index.versions import VersionStore
from nordvik.languages import detect_language_or_none

logger = logging.getLogger(__name__)

MODES = ("hybrid", "dense", "lexical")
QUERY_CACHE = 1024
# Dense calibration, per query and corpus: 0 at the median cosine of the query with a fixed
# sample of the version's passages (what an unrelated passage scores for this query with this
# model), 1 at DENSE_SPREADS (5) times the corpus's spread: the median, over some of its passages,
# of the distance from the median to the 90th percentile of their cosines with the sample (e5:
# 0.033, MiniLM: 0.17 on the shipped articles; the sample and the spread: loaded_version). e5
# puts every text at a cosine of about 0.8 to every other (relevant: ~0.88), MiniLM at about 0.1
# (relevant: ~0.6); both land on one scale. A spread per query instead made a tightly
# distributed off-topic question look confident.
DENSE_SPREADS = 5.0


@lru_cache(maxsize=1)
def _english_pool() -> ThreadPoolExecutor:
    """One thread for English models' query embeddings, beside the searching thread."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-english-query")


@dataclass(frozen=True)
class Candidates:
    """A query's candidate passages (rows of the version) with their dense and BM25 scores,
    each calibrated to [0, 1], and the language the query was taken to be in."""

    rows: np.ndarray
    cosine: np.ndarray
    dense: np.ndarray
    lexical: np.ndarray
    language: str | None
    same_language: np.ndarray | None  # per candidate, None when the language is unknown
    english: np.ndarray | None = None  # the English model's cosines (English queries only)
    title: np.ndarray | None = None  # cosine with the candidate's article title (-inf: none)


def validate_query(
    query: str, k: int, lang: str | None, audience: tuple[str, ...], settings: KbSettings
) -> None:
    if not query.strip():
        raise InvalidQuery("query is empty")
    if len(query.encode("utf-8", "surrogatepass")) > settings.max_query_bytes:
        raise InvalidQuery(f"query is longer than {settings.max_query_bytes} bytes")
    if not 1 <= k <= settings.max_k:
        raise InvalidQuery(f"k must be between 1 and {settings.max_k}")
    if lang is not None and lang not in LANGUAGES:
        raise InvalidQuery(f"unknown language {lang!r} (expected one of {', '.join(LANGUAGES)})")
    bad = [a for a in audience if a not in AUDIENCES]
    if bad or not audience:
        raise InvalidQuery(f"unknown audience {','.join(bad)!r} (expected public and/or internal)")


class IndexVersion(LoadedVersion):
    """One complete version folder, fully loaded into memory (loaded_version), and searched."""

    def __init__(
        self, path: Path, settings: KbSettings, embedder: Embedder | None = None,
        english_embedder: Embedder | None = None, only_segments: list[str] | None = None,
    ) -> None:
        """``only_segments``: load the live passages of these segments only (the verification
        of an update searches its new segment this way; the counts then do not match)."""
        super().__init__(path, settings, only_segments)
        self._query_cache: dict[str, np.ndarray] = {}
        self._query_cache_lock = threading.Lock()
        precision = str(self.manifest.get("embed_precision", "float32"))
        self.embedder = embedder or get_embedder(
            str(self.manifest["model"]), precision, settings.build_threads,
            settings.query_threads,
        )
        self.english_embedder: Embedder | None = None
        english_model = str(self.manifest.get("english_model", ""))
        if english_model:
            self.english_embedder = english_embedder or get_embedder(
                english_model, precision, settings.build_threads, settings.query_threads,
            )
        self._english_cache: dict[str, np.ndarray] = {}
        # a large Flat index is scanned for one query on several threads (dense.ExactSearch)
        self.dense_search = dense.ExactSearch(self.index, settings.search_threads)
        self._helpers = (dense.helper_pool(settings.search_threads - 1)
                         if settings.search_threads > 1 else None)

    def with_fusion(self, fusion: FusionWeights) -> IndexVersion:
        """This version ranking hybrid searches with other fusion weights (``kb tune-fusion``
        tries many); everything else, the query caches too, is shared."""
        other = copy.copy(self)
        other.fusion = fusion
        return other

    def dense_scores(self, cos: np.ndarray, qvec: np.ndarray) -> np.ndarray:
        """Cosines of the query with some passages, calibrated to [0, 1]: 0 at the query's
        median cosine with the calibration sample, 1 at DENSE_SPREADS corpus spreads above."""
        median = float(np.median(self.calibration @ qvec))
        return np.clip((cos - median) / (DENSE_SPREADS * self.dense_spread), 0.0, 1.0)

    def query_vector(self, query: str) -> np.ndarray:
        """The query's embedding; the last QUERY_CACHE distinct queries are kept (agents and
        the bot ask the same questions again and again)."""
        return self._cached_vector(self.embedder, self._query_cache, query)

    def english_query_vector(self, query: str) -> np.ndarray | None:
        """The query's embedding by the English model (cached alike), None without one."""
        if self.english_embedder is None:
            return None
        return self._cached_vector(self.english_embedder, self._english_cache, query)

    def _cached_vector(
        self, embedder: Embedder, cache: dict[str, np.ndarray], query: str
    ) -> np.ndarray:
        cached = cache.get(query)
        if cached is None:
            cached = embedder.encode_query(query)
            with self._query_cache_lock:
                if len(cache) >= QUERY_CACHE:
                    cache.pop(next(iter(cache)))
                cache[query] = cached
        return cached

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        lang: str | None = None,
        audience: tuple[str, ...] = ("public",),
        tags: tuple[str, ...] = (),
        mode: str = "hybrid",
        query_lang: str | None = None,
    ) -> list[Hit]:
        """The best passage of each of the k best articles for ``query`` among the passages
        in ``lang``, for ``audience``, with any of ``tags``; ``query_lang``: the query's
        language when known (else detected)."""
        validate_query(query, k, lang, audience, self.settings)
        if mode not in MODES:
            raise InvalidQuery(f"unknown mode {mode!r}")
        scored = self.candidates(
            query, k=k, lang=lang, audience=audience, tags=tags, mode=mode, query_lang=query_lang
        )
        if scored is None:
            return []
        weights = self.fusion
        if mode == "dense":
            order, shown = scored.cosine, scored.dense
        elif mode == "lexical":
            order, shown = scored.lexical, scored.lexical
        else:
            order = weights.rank_values(
                scored.cosine, scored.lexical, scored.same_language,
                self.row_article_no[scored.rows], scored.english, scored.title,
            )
            shown = weights.confidence(scored.dense, scored.lexical)
        keep = shown > 0 if mode != "hybrid" else np.ones(len(shown), dtype=bool)
        return self._hits(
            scored.rows[keep], order[keep], shown[keep], k, datetime.now(timezone.utc).date()
        )

    def candidates(
        self,
        query: str,
        *,
        k: int = 5,
        lang: str | None = None,
        audience: tuple[str, ...] = ("public",),
        tags: tuple[str, ...] = (),
        mode: str = "hybrid",
        query_lang: str | None = None,
    ) -> Candidates | None:
        """The candidate passages of a (validated) query with both calibrated scores, before
        fusion; None when nothing matches the filters."""
        if not self.n_passages:
            return None
        mask = self.filter_mask(lang, tuple(audience), tuple(t.lower() for t in tags))
        if mask is not None and not mask.any():
            return None
        qlang = query_lang or detect_language_or_none(query) or lang
        n_cand = min(self.n_passages, max(50, k * 10))
        # an English query's vector by the English model is computed on another thread while
        # this one embeds it with the main model and searches (both release the GIL)
        english_vector: Future[np.ndarray | None] | None = None
        if mode == "hybrid" and qlang == "en" and self.english_vectors is not None:
            english_vector = _english_pool().submit(self.english_query_vector, query)

        # BM25 is scored on a helper thread while this one embeds the query (the embedding
        # releases the GIL); with no helper free, or nothing to embed, it is scored here
        lexical: dense.Beside[tuple[np.ndarray, np.ndarray]] | None = None
        if mode in ("hybrid", "lexical"):
            embeds = mode == "hybrid" and query not in self._query_cache
            lexical = dense.Beside(self._helpers if embeds else None, self._lexical_candidates,
                                   query, qlang, n_cand, mask)
        qvec: np.ndarray | None = None
        dense_rows = np.zeros(0, dtype=np.int64)
        if mode in ("hybrid", "dense"):
            qvec = self.query_vector(query)
            dense_rows = self._dense_candidates(qvec, n_cand, mask)
        nl_all: np.ndarray | None = None
        lexical_rows = np.zeros(0, dtype=np.int64)
        if lexical is not None:
            nl_all, lexical_rows = lexical.result()

        if not len(dense_rows) and not len(lexical_rows):
            if english_vector is not None:
                english_vector.result()
            return None
        cand = np.union1d(dense_rows, lexical_rows)  # sorted, distinct
        nl = nl_all[cand] if nl_all is not None else np.zeros(len(cand), dtype=np.float32)
        if qvec is not None:
            cos = np.asarray(self.vectors[cand], dtype=np.float32) @ qvec
            nd = self.dense_scores(cos, qvec)
        else:
            cos = np.zeros(len(cand), dtype=np.float32)
            nd = cos
        same = self.row_lang[cand] == qlang if qlang in LANGUAGES else None
        english = None
        if english_vector is not None and self.english_vectors is not None:
            qvec_en = english_vector.result()
            if qvec_en is not None:
                english = np.asarray(self.english_vectors[cand], dtype=np.float32) @ qvec_en
        title = None
        if qvec is not None and self.title_vectors is not None and len(self.title_vectors):
            vectors = self.title_vectors[self.row_article_no[cand]]
            title = np.where(np.any(vectors != 0, axis=1), vectors @ qvec, -np.inf)
        return Candidates(
            cand, cos, nd.astype(np.float32), np.asarray(nl, np.float32), qlang, same, english,
            title,
        )

    def _lexical_candidates(
        self, query: str, qlang: str | None, n_cand: int, mask: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every row's BM25 score in [0, 1] (0 outside the filters) and the rows of the best
        n_cand that match at all."""
        terms = self.lexical.spelled_as_indexed(analyze(query, qlang or "en"))
        nl_all, _coverage = self.lexical.normalized_scores(terms)
        if mask is not None:
            nl_all = np.where(mask, nl_all, 0.0)
        top = np.argpartition(-nl_all, n_cand - 1)[:n_cand] if n_cand < len(nl_all) else None
        rows = np.arange(len(nl_all)) if top is None else top
        return nl_all, rows[nl_all[rows] > 0].astype(np.int64)

    def _dense_candidates(
        self, qvec: np.ndarray, n_cand: int, mask: np.ndarray | None
    ) -> np.ndarray:
        if mask is not None and mask.mean() < 0.3:
            rows = np.flatnonzero(mask)
            sims = np.asarray(self.vectors[rows], dtype=np.float32) @ qvec
            top = np.argsort(-sims)[:n_cand]
            return rows[top].astype(np.int64)
        share = 1.0 if mask is None else max(float(mask.mean()), 0.05)
        fetch = min(self.n_passages, int(n_cand / share))
        _scores, labels = self.dense_search.search(qvec, fetch)
        out = []
        for label in labels[0].tolist():
            row = self.row_of_id.get(label)
            if row is not None and (mask is None or mask[row]):
                out.append(row)
        return np.array(out, dtype=np.int64)

    def _hits(
        self, cand: np.ndarray, order: np.ndarray, shown: np.ndarray, k: int, today: date
    ) -> list[Hit]:
        """Best passage per article by ``order`` (stale articles lowered), top k; a hit's
        score (``shown``) never exceeds the score of the hit above it."""
        best: dict[str, tuple[float, float, int, bool]] = {}
        for row, value, score in zip(cand.tolist(), order.tolist(), shown.tolist(), strict=True):
            article = self.articles[self.row_article[row]]
            stale = article.review_by < today
            factor = self.settings.stale_penalty if stale else 1.0
            current = best.get(article.id)
            if current is None or value * factor > current[0]:
                best[article.id] = (value * factor, score * factor, row, stale)
        ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[:k]
        hits = []
        ceiling = 1.0
        for article_id, (_value, score, row, stale) in ranked:
            article = self.articles[article_id]
            passage = self.records.get(row)
            ceiling = min(ceiling, max(score, 0.0))
            hits.append(
                Hit(
                    article_id=article_id,
                    title=article.title,
                    passage=passage["text"],
                    score=float(round(ceiling, 6)),
                    language=article.language,
                    url=article.url,
                    stale=stale,
                    audience=article.audience,
                    heading_path=tuple(passage["heading_path"]),
                )
            )
        return hits


class LiveIndex:
    """The live version, reloaded in full when the pointer moves, then swapped in one step."""

    def __init__(self, settings: KbSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.store = VersionStore(settings.kb_dir)
        self._embedder = embedder
        self._current: IndexVersion | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> IndexVersion:
        current = self._current
        if current is None:
            self.reload()
            current = self._current
        if current is None:
            raise KnowledgeUnavailable("no live knowledge index")
        return current

    def reload(self) -> bool:
        """Load the live version if the pointer names another one; True when swapped."""
        with self._lock:
            name = self.store.live_name()
            if name is None:
                if self._current is None:
                    raise KnowledgeUnavailable(
                        f"no live knowledge index in {self.settings.kb_dir} (run `kb build`)"
                    )
                return False
            if self._current is not None and self._current.name == name:
                return False
            path = self.store.live_path()
            loaded = IndexVersion(path, self.settings, self._embedder)
            loaded.check_counts()
            self._current = loaded  # one reference swap: readers see old or new, never half
            logger.info("serving knowledge index version %s", name)
            return True

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        lang: str | None = None,
        audience: tuple[str, ...] = ("public",),
        tags: tuple[str, ...] = (),
    ) -> list[Hit]:
        return self.current.search(query, k=k, lang=lang, audience=audience, tags=tags)


_live: LiveIndex | None = None
_live_lock = threading.Lock()


def get_search() -> LiveIndex:
    """The in-process KnowledgeSearch over the live version (cached; loads on first search)."""
    global _live
    with _live_lock:
        if _live is None:
            _live = LiveIndex(KbSettings.from_env())
        return _live
