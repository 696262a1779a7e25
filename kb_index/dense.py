"""Dense vectors in FAISS (inner product on normalised vectors = cosine) with stable int64 ids."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import faiss
import numpy as np

from kb_index.errors import BuildError, KnowledgeUnavailable

logger = logging.getLogger(__name__)

# One query's exhaustive scan of a Flat index is cut into parts searched at once from this many
# vectors on (below it the scan takes a millisecond or two and a hand-over costs about as much).
SPLIT_MIN_VECTORS = 20_000
T = TypeVar("T")


def kept_in_segments(factory: str) -> bool:
    """Whether versions built with this factory keep no index file: a Flat index holds nothing
    but the live passages' vectors, in the order the segments give them, so it is filled from
    the segments when a version is loaded (a copy of memory) instead of being written, synced
    and read back whole on every update. Other indexes (HNSW, IVF) are stored in dense.faiss."""
    return factory.strip() == "Flat"


def make_index(factory: str, dim: int) -> faiss.Index:
    """An empty id-mapped index from a FAISS factory string such as Flat, HNSW32, IVF256,Flat."""
    spec = factory if factory.startswith("IDMap") else f"IDMap2,{factory}"
    try:
        return faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise BuildError(f"bad FAISS factory string {factory!r}") from exc


def apply_search_params(index: faiss.Index, params: str) -> None:
    """``nprobe=16`` / ``efSearch=128`` style parameters, comma separated."""
    if not params:
        return
    space = faiss.ParameterSpace()
    for item in params.split(","):
        name, _, value = item.partition("=")
        try:
            space.set_index_parameter(index, name.strip(), float(value))
        except RuntimeError as exc:
            raise BuildError(f"search parameter {item!r} does not apply to this index") from exc


def stored_index(factory: str, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index | None:
    """The index a version writes to dense.faiss; None for a Flat one (kept_in_segments)."""
    return None if kept_in_segments(factory) else build_index(factory, ids, vectors)


def build_index(factory: str, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    index = make_index(factory, vectors.shape[1])
    if not index.is_trained:
        nlist = _nlist(index)
        if len(vectors) < max(nlist, 1):
            raise BuildError(
                f"index {factory!r} needs at least {nlist} vectors to train, got {len(vectors)}"
            )
        index.train(vectors)
    if len(vectors):
        index.add_with_ids(vectors, ids.astype(np.int64))
    return index


def _nlist(index: faiss.Index) -> int:
    inner = faiss.downcast_index(index.index) if hasattr(index, "index") else index
    return int(getattr(inner, "nlist", 1))


def replace_vectors(
    index: faiss.Index,
    factory: str,
    remove_ids: np.ndarray,
    add_ids: np.ndarray,
    add_vectors: np.ndarray,
    everything: Callable[[], tuple[np.ndarray, np.ndarray]],
) -> faiss.Index:
    """Remove and add in place; an index that cannot remove ids (HNSW) is rebuilt from
    ``everything()``: the ids and vectors of every passage the new index must hold."""
    if len(remove_ids):
        try:
            index.remove_ids(faiss.IDSelectorBatch(remove_ids.astype(np.int64)))
        except RuntimeError:
            logger.info("index %s cannot remove ids; rebuilding it from stored vectors", factory)
            return build_index(factory, *everything())
    if len(add_ids):
        index.add_with_ids(add_vectors, add_ids.astype(np.int64))
    return index


def save_index(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_index(path: Path) -> faiss.Index:
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise KnowledgeUnavailable(f"{path}: unreadable FAISS index") from exc


def flat_storage(index: faiss.Index) -> np.ndarray | None:
    """The vectors of an id-mapped inner-product Flat index, as a read-only view of the index's
    own memory (rows in the order they were added), or None for any other index.

    The view is valid while the index lives and must not be used after the index changes."""
    outer = faiss.downcast_index(index)
    if not isinstance(outer, (faiss.IndexIDMap2, faiss.IndexIDMap)):
        return None
    flat = faiss.downcast_index(outer.index)
    if not isinstance(flat, faiss.IndexFlat) or flat.metric_type != faiss.METRIC_INNER_PRODUCT:
        return None
    rows, dim = int(flat.ntotal), int(flat.d)
    if rows == 0:
        return np.zeros((0, dim), dtype=np.float32)
    view = faiss.rev_swig_ptr(flat.get_xb(), rows * dim).reshape(rows, dim)
    view.flags.writeable = False
    return view


@lru_cache(maxsize=4)
def helper_pool(threads: int) -> ThreadPoolExecutor:
    """The process's helper threads for single searches (``threads`` of them, shared)."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kb-search-helper")


class Beside(Generic[T]):
    """A call handed to a helper thread while the caller does something else. ``result()``
    runs it on the calling thread instead when no helper has started it yet (all busy with
    other searches), so a search never queues behind another one: under concurrent searches
    each runs on its own thread, as without helpers."""

    def __init__(self, pool: ThreadPoolExecutor | None, fn: Callable[..., T], *args: Any) -> None:
        self._fn = fn
        self._args = args
        self._future: Future[T] | None = pool.submit(fn, *args) if pool is not None else None

    def result(self) -> T:
        if self._future is None or self._future.cancel():
            return self._fn(*self._args)
        return self._future.result()


class ExactSearch:
    """k nearest by inner product for one query over an ``IDMap2,Flat`` index, with its vectors
    cut into ``parts`` scanned at once: the calling thread scans one, helper threads the others
    (FAISS spreads a batch of queries over threads, but scans for a single query on one).

    The answer is the index's own: the same scores, labels and order. Each part is scanned by
    the same FAISS routine the index uses, so the scores are identical; ties are ordered as
    FAISS orders them (the later position first). Which of several equal scores straddling the
    k-th place FAISS keeps depends on its heap, so such a query is answered by the index
    itself. Other index types, a small index or ``parts=1`` search the index directly. The
    index must not change while this object lives (it scans the index's own memory).
    """

    def __init__(self, index: faiss.Index, parts: int = 2) -> None:
        self.index = index
        self.ntotal = int(index.ntotal)
        self.parts = 1
        self._vectors: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._bounds: list[tuple[int, int]] = []
        stored = flat_storage(index)
        if parts < 2 or self.ntotal < SPLIT_MIN_VECTORS or stored is None:
            return
        self._vectors = stored
        self._labels = faiss.vector_to_array(faiss.downcast_index(index).id_map)
        edges = np.linspace(0, self.ntotal, parts + 1).astype(np.int64).tolist()
        self._bounds = list(zip(edges[:-1], edges[1:], strict=True))
        self.parts = parts

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Scores and labels of the k best, shape (1, k) each, as ``index.search`` gives."""
        query = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        if self._vectors is None or self._labels is None or k >= self.ntotal:
            scores, labels = self.index.search(query, k)
            return scores, labels
        pool = helper_pool(self.parts - 1)
        # one more than k per part: the (k+1)-th best tells whether ties straddle the k-th place
        others = [Beside(pool, self._scan, query, start, end, k + 1)
                  for start, end in self._bounds[1:]]
        found = [self._scan(query, *self._bounds[0], k + 1), *(o.result() for o in others)]
        scores = np.concatenate([s for s, _ in found])
        rows = np.concatenate([r for _, r in found])
        order = np.lexsort((-rows, -scores))
        if len(order) > k and scores[order[k - 1]] == scores[order[k]]:
            return self.index.search(query, k)  # FAISS's own choice among the tied
        order = order[:k]
        return scores[order][None, :], self._labels[rows[order]][None, :]

    def _scan(
        self, query: np.ndarray, start: int, end: int, k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k best of rows start..end: scores and row numbers (in the whole index)."""
        assert self._vectors is not None
        scores, rows = faiss.knn(
            query, self._vectors[start:end], min(k, end - start), faiss.METRIC_INNER_PRODUCT
        )
        return scores[0], rows[0] + start
