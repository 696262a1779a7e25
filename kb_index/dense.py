"""Dense vectors in FAISS (inner product on normalised vectors = cosine) with stable int64 ids."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from kb_index.errors import BuildError, KnowledgeUnavailable

logger = logging.getLogger(__name__)


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
