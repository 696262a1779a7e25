import dataclasses
import json

import faiss
import numpy as np
import pytest

from kb_index import dense
from kb_index.builder import build, rollback
from kb_index.errors import BuildError, InvalidQuery, VersionNotFound
from kb_index.search import IndexVersion, LiveIndex
from kb_index.settings import KbSettings
from kb_index.versions import VersionStore

ALL = ("public", "internal")


def _ids(hits: list) -> list[str]:
    return [h.article_id for h in hits]


def test_build_then_load_round_trip(settings: KbSettings) -> None:
    result = build(settings)
    assert result.articles == 7 and result.passages >= 7 and result.embedded == result.passages
    store = VersionStore(settings.kb_dir)
    assert store.live_name() == result.version
    manifest = json.loads((store.live_path() / "manifest.json").read_text())
    assert manifest["model"] == "hashing-256"
    assert manifest["dimension"] == 256
    assert manifest["counts"]["passages"] == result.passages
    assert set(manifest["articles"]) == {
        "returns-policy", "shipping-sweden", "refund-authority", "gift-cards",
        "retur-sv", "levering-nb", "returns-zh",
    }
    first = IndexVersion(store.live_path(), settings)
    second = IndexVersion(store.live_path(), settings)
    first.check_counts()
    query = "return label free in Sweden"
    assert first.search(query, audience=ALL) == second.search(query, audience=ALL)
    assert _ids(first.search(query, audience=ALL))[0] == "returns-policy"


def test_filters_scores_and_stale(settings: KbSettings) -> None:
    build(settings)
    live = LiveIndex(settings)
    # internal guidance is only returned when asked for
    assert "refund-authority" not in _ids(live.search("agent goodwill team lead refund limit"))
    hits = live.search("agent goodwill team lead refund limit", audience=ALL)
    assert hits[0].article_id == "refund-authority" and hits[0].audience == "internal"
    assert all(h.language == "sv" for h in live.search("returnera", lang="sv"))
    assert set(_ids(live.search("delivery", tags=("shipping",), k=10))) <= {
        "shipping-sweden", "levering-nb",
    }
    for hit in live.search("return refund shipping gift cards", k=10, audience=ALL):
        assert 0.0 <= hit.score <= 1.0
    gift = live.search("gift cards valid months online")[0]
    assert gift.article_id == "gift-cards" and gift.stale is True
    fresh = live.current.search("gift cards valid months online", mode="lexical")[0]
    assert fresh.stale is True
    # ranked lower: the stale penalty is applied to the score
    raw = live.current.lexical.normalized_scores(["gift", "card", "valid", "month", "onlin"])
    assert fresh.score < float(raw[0].max())
    assert len(_ids(live.search("returns", k=10, audience=ALL))) == len(
        set(_ids(live.search("returns", k=10, audience=ALL)))
    )


def test_unrelated_query_scores_below_threshold(settings: KbSettings) -> None:
    build(settings)
    hits = LiveIndex(settings).search("quantum chromodynamics lecture", audience=ALL)
    assert all(h.score < settings.min_score for h in hits)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"query": "  "}, "empty"),
        ({"query": "x" * 100_001}, "longer than"),
        ({"query": "ok", "k": 0}, "k must be"),
        ({"query": "ok", "k": 51}, "k must be"),
        ({"query": "ok", "lang": "de"}, "unknown language"),
        ({"query": "ok", "audience": ("everyone",)}, "unknown audience"),
    ],
)
def test_invalid_queries(settings: KbSettings, kwargs: dict, message: str) -> None:
    build(settings)
    with pytest.raises(InvalidQuery, match=message):
        LiveIndex(settings).search(**kwargs)


def test_update_replaces_changed_and_drops_deleted(settings: KbSettings) -> None:
    first = build(settings)
    path = settings.source / "en/shipping-sweden.md"
    path.write_text(
        path.read_text().replace("PostNord or Budbee", "the Zeppelin airship courier"),
        encoding="utf-8",
    )
    (settings.source / "nb/levering.md").unlink()
    result = build(settings, incremental=True)
    assert result.incremental and result.removed == 1
    assert result.embedded == 2  # the changed article's two passages only
    assert result.reused == first.passages - 2 - 1
    live = LiveIndex(settings)
    hits = live.search("Zeppelin airship courier", audience=ALL)
    assert hits[0].article_id == "shipping-sweden" and "Zeppelin" in hits[0].passage
    assert not any("Budbee" in h.passage for h in live.search("Budbee", k=10, audience=ALL))
    assert "levering-nb" not in _ids(live.search("Levering til Norge Bring", k=10, audience=ALL))
    version = live.current
    version.check_counts()
    assert int(version.index.ntotal) == first.passages - 1
    again = build(settings, incremental=True)
    assert again.unchanged and again.version == result.version


def test_update_with_hnsw_rebuilds_dense_part(settings: KbSettings) -> None:
    hnsw = dataclasses.replace(settings, index_factory="HNSW16")
    build(hnsw)
    path = settings.source / "en/gift-cards.md"
    path.write_text(path.read_text() + "\nGift cards arrive by e-mail.\n", encoding="utf-8")
    result = build(hnsw, incremental=True)
    assert result.embedded >= 1
    LiveIndex(hnsw).current.check_counts()


def test_versions_rollback_and_pruning(settings: KbSettings) -> None:
    store = VersionStore(settings.kb_dir)
    with pytest.raises(VersionNotFound):
        store.live_path()
    v1 = build(settings).version
    path = settings.source / "en/returns-policy.md"
    path.write_text(path.read_text().replace("30 days", "45 days"), encoding="utf-8")
    v2 = build(settings).version
    assert store.live_name() == v2 and store.names() == [v1, v2]
    assert "45 days" in LiveIndex(settings).search("return window days")[0].passage
    assert rollback(settings) == v1
    assert store.live_name() == v1
    assert "30 days" in LiveIndex(settings).search("return window days")[0].passage
    assert rollback(settings, v2) == v2
    with pytest.raises(VersionNotFound):
        rollback(settings, "v-nope")
    for _ in range(3):
        build(settings)
    assert len(store.names()) == settings.keep_versions
    assert v1 not in store.names()


def test_strict_build_fails_and_keeps_live(settings: KbSettings) -> None:
    v1 = build(settings).version
    (settings.source / "en/broken.md").write_text("---\nid: broken\n---\n", encoding="utf-8")
    with pytest.raises(BuildError, match="broken.md"):
        build(settings, strict=True)
    assert VersionStore(settings.kb_dir).live_name() == v1
    result = build(settings)
    assert [p.path for p in result.problems] == [str(settings.source / "en/broken.md")]


def test_leftover_partial_build_is_ignored_and_cleaned(settings: KbSettings) -> None:
    v1 = build(settings).version
    junk = settings.kb_dir / "versions" / ".building-v99990101T000000000000"
    junk.mkdir()
    (junk / "dense.faiss").write_bytes(b"half")
    assert VersionStore(settings.kb_dir).names() == [v1]
    build(settings)
    assert not junk.exists()


def test_approximate_index_recall_against_exact() -> None:
    rng = np.random.default_rng(7)
    # clustered like real embeddings: 100 topics, passages spread around each
    centres = rng.standard_normal((100, 64)).astype(np.float32)
    vectors = centres[rng.integers(0, 100, 5000)] + 0.5 * rng.standard_normal((5000, 64)).astype(
        np.float32
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(5000, dtype=np.int64) * 3 + 11
    queries = vectors[rng.choice(5000, 100, replace=False)] + 0.3 * rng.standard_normal(
        (100, 64)
    ).astype(np.float32)
    exact = dense.build_index("Flat", ids, vectors)
    _, truth = exact.search(queries, 10)
    for factory, params in (("HNSW32", "efSearch=128"), ("IVF64,Flat", "nprobe=16")):
        approx = dense.build_index(factory, ids, vectors)
        dense.apply_search_params(approx, params)
        _, found = approx.search(queries, 10)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(truth, found, strict=True)])
        assert recall >= 0.9, (factory, recall)
    assert isinstance(exact, faiss.Index)


def test_bad_factory_and_untrainable_ivf() -> None:
    with pytest.raises(BuildError, match="bad FAISS factory"):
        dense.make_index("NotAnIndex", 8)
    vectors = np.eye(8, dtype=np.float32)
    with pytest.raises(BuildError, match="needs at least"):
        dense.build_index("IVF64,Flat", np.arange(8, dtype=np.int64), vectors)
