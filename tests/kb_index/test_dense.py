"""One query's exact search split across threads gives exactly what the Flat index gives."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from kb_index import dense
from kb_index.builder import build
from kb_index.search import IndexVersion
from kb_index.settings import KbSettings
from kb_index.versions import VersionStore

ALL = ("public", "internal")


def _vectors_with_ties(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    """Unit vectors, a fifth of them exact copies of others (equal scores for every query)."""
    unique = rng.standard_normal((n - n // 5, dim)).astype(np.float32)
    copies = unique[rng.integers(0, n // 20, n // 5)]
    vectors = np.vstack([unique, copies])[rng.permutation(n)]
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("parts", [2, 3])
def test_split_search_returns_what_the_flat_index_returns(
    monkeypatch: pytest.MonkeyPatch, parts: int
) -> None:
    monkeypatch.setattr(dense, "SPLIT_MIN_VECTORS", 100)
    rng = np.random.default_rng(3)
    vectors = _vectors_with_ties(rng, 3000, 32)
    ids = rng.permutation(3000).astype(np.int64) * 7 + 5
    index = dense.build_index("Flat", ids, vectors)
    # an updated index: some passages removed, others appended (positions no longer sorted)
    index.remove_ids(dense.faiss.IDSelectorBatch(ids[:200]))
    index.add_with_ids(vectors[:50], ids[:50] + 1)
    split = dense.ExactSearch(index, parts)
    assert split.parts == parts
    queries = np.vstack([rng.standard_normal((60, 32)), vectors[:20]]).astype(np.float32)
    for query in queries:
        for k in (1, 5, 50, 100, 999, index.ntotal - 1, index.ntotal, index.ntotal + 5):
            expected = index.search(query.reshape(1, -1), k)
            found = split.search(query, k)
            assert np.array_equal(found[0], expected[0]), k
            assert np.array_equal(found[1], expected[1]), k


def test_small_or_approximate_indexes_are_searched_directly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(4)
    vectors = _vectors_with_ties(rng, 2000, 16)
    ids = np.arange(2000, dtype=np.int64)
    assert dense.ExactSearch(dense.build_index("Flat", ids, vectors), 2).parts == 1  # small
    monkeypatch.setattr(dense, "SPLIT_MIN_VECTORS", 100)
    assert dense.ExactSearch(dense.build_index("Flat", ids, vectors), 1).parts == 1  # setting
    hnsw = dense.build_index("HNSW32", ids, vectors)
    assert dense.ExactSearch(hnsw, 2).parts == 1
    query = vectors[7]
    assert np.array_equal(dense.ExactSearch(hnsw, 2).search(query, 10)[1],
                          hnsw.search(query.reshape(1, -1), 10)[1])


def test_work_no_helper_has_started_runs_on_the_calling_thread() -> None:
    pool = dense.helper_pool(1)
    release = threading.Event()
    busy = pool.submit(release.wait, 10)  # another search holds the only helper
    ran_on: list[str] = []
    work = dense.Beside(pool, lambda: ran_on.append(threading.current_thread().name) or 42)
    assert work.result() == 42
    assert ran_on == [threading.current_thread().name]
    release.set()
    busy.result()
    started = threading.Event()

    def helped() -> str:
        started.set()
        return threading.current_thread().name

    work_beside = dense.Beside(pool, helped)
    assert started.wait(10)  # the caller did its own part meanwhile
    assert work_beside.result().startswith("kb-search-helper")


def test_split_search_and_early_bm25_change_no_candidate(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dense, "SPLIT_MIN_VECTORS", 1)
    build(settings)
    path = VersionStore(settings.kb_dir).live_path()
    one = IndexVersion(path, dataclasses.replace(settings, search_threads=1))
    two = IndexVersion(path, dataclasses.replace(settings, search_threads=2))
    assert (one.dense_search.parts, two.dense_search.parts) == (1, 2)
    queries = ["return window", "shipping cost Sweden", "gift card refund", "退貨", "frakt Norge",
               "goodwill limit", "nothing matches this zzz"]
    for query in queries:
        for k, lang in ((1, None), (5, None), (3, "en")):
            a = one.candidates(query, k=k, lang=lang, audience=ALL)
            b = two.candidates(query, k=k, lang=lang, audience=ALL)
            assert (a is None) == (b is None)
            if a is None or b is None:
                continue
            for field in dataclasses.fields(a):
                left, right = getattr(a, field.name), getattr(b, field.name)
                if isinstance(left, np.ndarray):
                    assert np.array_equal(left, right), (query, field.name)
                else:
                    assert left == right, (query, field.name)
            assert one.search(query, k=k, lang=lang, audience=ALL) == two.search(
                query, k=k, lang=lang, audience=ALL)


def test_flat_storage_is_the_index_rows_in_id_map_order() -> None:
    """After removals and additions each stored row is the vector of the id at that position;
    the view is read-only, and other indexes have none."""
    rng = np.random.default_rng(5)
    vectors = _vectors_with_ties(rng, 500, 16)
    ids = rng.permutation(500).astype(np.int64) * 3 + 1
    index = dense.build_index("Flat", ids, vectors)
    index.remove_ids(dense.faiss.IDSelectorBatch(ids[:100]))
    index.add_with_ids(vectors[:10], ids[:10])
    stored = dense.flat_storage(index)
    assert stored is not None and stored.shape == (410, 16) and not stored.flags.writeable
    by_id = dict(zip(ids.tolist(), vectors, strict=True))
    labels = dense.faiss.vector_to_array(dense.faiss.downcast_index(index).id_map)
    assert all(np.array_equal(row, by_id[label]) for row, label in zip(stored, labels, strict=True))
    with pytest.raises(ValueError):
        stored[0, 0] = 2.0
    assert dense.flat_storage(dense.build_index("HNSW32", ids, vectors)) is None
    empty = dense.flat_storage(dense.make_index("Flat", 16))
    assert empty is not None and empty.shape == (0, 16)


def test_a_loaded_flat_version_keeps_its_vectors_once(settings: KbSettings) -> None:
    """The version's row vectors are the Flat index's own memory, not a second copy, and hold
    what the segments hold."""
    from kb_index import segments

    build(settings)
    path = VersionStore(settings.kb_dir).live_path()
    version = IndexVersion(path, settings)
    assert not version.manifest.get("dense_file", True)  # the default factory is Flat
    stored = dense.flat_storage(version.index)
    assert stored is not None and np.shares_memory(version.vectors, stored)
    data = segments.assemble(path, version.manifest["segments"],
                             version.manifest["article_segments"],
                             int(version.manifest["dimension"]))
    assert np.array_equal(version.vectors, data.vectors) and np.array_equal(version.ids, data.ids)
