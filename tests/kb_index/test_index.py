import dataclasses
import json
import os
import shutil
from pathlib import Path

import faiss
import numpy as np
import pytest

from kb_index import articles as articles_module
from kb_index import build_plan, dense, publish, verification
from kb_index.builder import build, rollback
from kb_index.errors import (
    BuildError,
    InvalidQuery,
    KnowledgeError,
    KnowledgeUnavailable,
    VersionNotFound,
)
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


def _segment_files(version_dir: Path) -> dict[str, os.stat_result]:
    return {
        str(p.relative_to(version_dir)): p.stat()
        for p in (version_dir / "segments").rglob("*")
        if p.is_file()
    }


def test_update_shares_unchanged_segments_and_survives_pruning(settings: KbSettings) -> None:
    store = VersionStore(settings.kb_dir)
    first = build(settings)
    v1_dir = store.live_path()
    path = settings.source / "en/gift-cards.md"
    path.write_text(path.read_text().replace("24 months", "36 months"), encoding="utf-8")
    second = build(settings, incremental=True)
    v2_dir = store.live_path()
    manifest = json.loads((v2_dir / "manifest.json").read_text())
    assert len(manifest["segments"]) == 2 and manifest["counts"]["segments"] == 2
    assert manifest["article_segments"]["gift-cards"] == manifest["segments"][1]
    assert manifest["counts"]["stored"] == first.passages + second.embedded
    # the base segment is the same files (hard links), not a copy
    old, new = _segment_files(v1_dir), _segment_files(v2_dir)
    shared = [name for name in old if name in new]
    assert shared and all(new[n].st_ino == old[n].st_ino for n in shared)
    # the old passage of the changed article is not live in the new version
    hits = LiveIndex(settings).search("gift cards valid months", k=10)
    gift = [h for h in hits if h.article_id == "gift-cards"]
    assert len(gift) == 1 and "36 months" in gift[0].passage
    # pruning the base version leaves the shared segment intact for the live one
    shutil.rmtree(v1_dir)
    version = IndexVersion(v2_dir, settings)
    version.check_counts()
    assert "36 months" in version.search("gift cards valid months")[0].passage


def _segment_counts_over_updates(settings: KbSettings, updates: int) -> list[int]:
    build(settings)
    path = settings.source / "en/returns-policy.md"
    counts = []
    for days in range(31, 31 + updates):
        text = path.read_text()
        path.write_text(text.replace(f"{days - 1} days", f"{days} days"), encoding="utf-8")
        assert build(settings, incremental=True).embedded >= 1
        live = LiveIndex(settings)
        live.current.check_counts()
        assert f"{days} days" in live.search("return window days")[0].passage
        counts.append(len(live.current.manifest["segments"]))
    return counts


@pytest.mark.parametrize(
    ("max_segments", "max_dead", "expected"),
    [
        (3, 1.0, [2, 3, 1, 2]),  # a fourth segment would be one too many: rewrite as one
        (100, 0.3, [2, 1, 2, 1]),  # returns-policy is ~20% of the passages: dead piles up
    ],
)
def test_updates_compact_into_one_segment(
    settings: KbSettings,
    monkeypatch: pytest.MonkeyPatch,
    max_segments: int,
    max_dead: float,
    expected: list[int],
) -> None:
    monkeypatch.setattr(build_plan, "MAX_SEGMENTS", max_segments)
    monkeypatch.setattr(build_plan, "MAX_DEAD_SHARE", max_dead)
    assert _segment_counts_over_updates(settings, len(expected)) == expected
    manifest = LiveIndex(settings).current.manifest
    if expected[-1] == 1:
        assert manifest["counts"]["stored"] == manifest["counts"]["passages"]
    else:
        assert manifest["counts"]["stored"] > manifest["counts"]["passages"]


def test_update_reads_only_files_whose_size_or_time_changed(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(settings)
    hashed: list[int] = []
    real_hash = articles_module.content_hash
    monkeypatch.setattr(
        articles_module, "content_hash", lambda raw: hashed.append(len(raw)) or real_hash(raw)
    )
    assert build(settings, incremental=True).unchanged and hashed == []
    path = settings.source / "sv/retur.md"
    path.write_text(path.read_text() + "\nReturen är registrerad.\n", encoding="utf-8")
    result = build(settings, incremental=True)
    assert len(hashed) == 1 and result.embedded >= 1
    # touched but byte-identical: read and hashed again, but nothing is re-embedded
    os.utime(settings.source / "en/gift-cards.md")
    touched = build(settings, incremental=True)
    assert len(hashed) == 2 and touched.unchanged


def test_version_of_an_older_format_is_refused_and_rebuilt(settings: KbSettings) -> None:
    build(settings)
    store = VersionStore(settings.kb_dir)
    manifest_path = store.live_path() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format"] = 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(KnowledgeUnavailable, match="format 1.*run `kb build`"):
        LiveIndex(settings).search("returns")
    result = build(settings, incremental=True)
    assert not result.incremental and result.embedded == result.passages
    assert LiveIndex(settings).search("return label free in Sweden")[0].article_id == (
        "returns-policy"
    )


def test_repeated_queries_are_embedded_once_and_the_cache_is_bounded(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb_index import search as search_module

    build(settings)
    version = LiveIndex(settings).current
    calls: list[str] = []
    real = version.embedder.encode_query

    def counting(text: str) -> np.ndarray:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(version.embedder, "encode_query", counting)
    monkeypatch.setattr(search_module, "QUERY_CACHE", 2)
    first = version.search("return label free in Sweden")
    assert version.search("return label free in Sweden") == first
    assert calls == ["return label free in Sweden"]
    version.search("gift cards")
    version.search("delivery time")  # evicts the oldest
    version.search("return label free in Sweden")
    assert calls.count("return label free in Sweden") == 2 and len(version._query_cache) == 2


def test_embedding_precision_is_recorded_and_a_change_rebuilds(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(settings)
    assert LiveIndex(settings).current.manifest["embed_precision"] == settings.embed_precision
    assert settings.embed_precision == "float32"
    other = dataclasses.replace(settings, embed_precision="int8")
    result = build(other, incremental=True)
    assert not result.incremental and result.embedded == result.passages
    assert LiveIndex(other).current.manifest["embed_precision"] == "int8"
    monkeypatch.setenv("KB_EMBED_PRECISION", "int4")
    from kb_index.embedder import SentenceTransformerEmbedder

    with pytest.raises(KnowledgeError, match="unknown embedding precision 'int4'"):
        SentenceTransformerEmbedder("any-model", KbSettings.from_env().embed_precision)


def test_the_model_is_recorded_and_a_change_rebuilds(settings: KbSettings) -> None:
    """A version names its model; an update with another model embeds every passage again
    (the stored vectors would not match the new model's queries)."""
    first = build(settings)
    assert LiveIndex(settings).current.manifest["model"] == "hashing-256"
    same = build(settings, incremental=True)
    assert same.unchanged and same.embedded == 0
    other = dataclasses.replace(settings, model="hashing-128")
    result = build(other, incremental=True)
    assert not result.incremental and result.embedded == result.passages == first.passages
    current = LiveIndex(other).current
    assert current.manifest["model"] == "hashing-128" and current.vectors.shape[1] == 128
    assert current.search("return label free")[0].article_id == "returns-policy"


def test_english_model_embeds_english_passages_and_votes_for_english_queries(
    settings: KbSettings,
) -> None:
    """A second model for English: English passages get its vectors (other rows stay zero),
    the manifest names it, English queries get its cosines, other queries do not, and an
    update embeds a changed English article with it too."""
    english = dataclasses.replace(settings, english_model="hashing-64")
    assert english.english_dense_model == "hashing-64"
    first = build(english)
    version = LiveIndex(english).current
    assert version.manifest["english_model"] == "hashing-64"
    assert version.manifest["english_dimension"] == 64
    assert version.english_vectors is not None
    assert version.english_vectors.shape == (first.passages, 64)
    norms = np.linalg.norm(np.asarray(version.english_vectors, dtype=np.float32), axis=1)
    is_en = version.row_lang == "en"
    assert np.allclose(norms[is_en], 1.0, atol=1e-2) and np.all(norms[~is_en] == 0)
    en = version.candidates("return label free", query_lang="en", audience=ALL)
    sv = version.candidates("returnera paket", query_lang="sv", audience=ALL)
    assert en is not None and en.english is not None and len(en.english) == len(en.rows)
    assert sv is not None and sv.english is None
    assert version.search("return label free", audience=ALL)[0].article_id == "returns-policy"

    path = english.source / "en" / "returns-policy.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nLabels are printed at home.\n",
                    encoding="utf-8")
    updated = build(english, incremental=True)
    assert updated.incremental and 0 < updated.embedded < updated.passages
    version = LiveIndex(english).current
    version.check_counts()
    assert version.english_vectors is not None
    assert version.english_vectors.shape[0] == version.n_passages


def test_a_change_of_english_model_rebuilds(settings: KbSettings) -> None:
    first = build(settings)
    assert LiveIndex(settings).current.manifest["english_model"] == ""
    english = dataclasses.replace(settings, english_model="hashing-64")
    result = build(english, incremental=True)
    assert not result.incremental and result.embedded == result.passages == first.passages
    # the same model as the main one is no second model
    same = dataclasses.replace(settings, english_model=settings.model)
    assert same.english_dense_model == ""


def test_missing_english_vectors_fail_the_count_check(settings: KbSettings) -> None:
    english = dataclasses.replace(settings, english_model="hashing-64")
    build(english)
    live = VersionStore(english.kb_dir).live_path()
    for segment_file in live.glob("segments/*/english_vectors.npy"):
        segment_file.unlink()
    with pytest.raises(KnowledgeUnavailable, match="English vectors=-1"):
        IndexVersion(live, english).check_counts()


def test_english_model_setting() -> None:
    """Beside the default e5, MiniLM ranks English queries too unless KB_ENGLISH_MODEL=none;
    beside any other main model there is none unless named."""
    from kb_index.embedder import resolve_model

    assert KbSettings.from_env({}).english_dense_model == resolve_model("minilm")
    assert KbSettings.from_env({"KB_ENGLISH_MODEL": "none"}).english_dense_model == ""
    assert KbSettings.from_env({"KB_MODEL": "hashing-256"}).english_dense_model == ""
    assert KbSettings.from_env({"KB_MODEL": "minilm"}).english_dense_model == ""
    named = KbSettings.from_env({"KB_MODEL": "hashing-256", "KB_ENGLISH_MODEL": "hashing-64"})
    assert named.english_dense_model == "hashing-64"


def test_article_titles_are_embedded_kept_by_updates_and_counted(settings: KbSettings) -> None:
    from kb_index.embedder import get_embedder

    build(settings)
    version = LiveIndex(settings).current
    assert version.manifest["title_vectors"] is True
    assert version.title_vectors is not None
    titles = dict(zip(version.articles, version.title_vectors, strict=True))
    embedder = get_embedder(settings.model)
    assert np.allclose(titles["returns-policy"],
                       embedder.encode([version.articles["returns-policy"].title])[0])
    scored = version.candidates("return label free", audience=ALL)
    assert scored is not None and scored.title is not None
    assert len(scored.title) == len(scored.rows)

    path = settings.source / "en" / "returns-policy.md"
    text = path.read_text(encoding="utf-8")
    old_title = version.articles["returns-policy"].title
    path.write_text(text.replace(f"title: {old_title}", "title: Sending things back", 1),
                    encoding="utf-8")
    from kb_index.embedder import HashingEmbedder

    encoded: list[str] = []

    class Recording(HashingEmbedder):
        def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
            encoded.extend(texts)
            return super().encode(texts)

    assert build(settings, incremental=True, embedder=Recording(256)).incremental
    assert "Sending things back" in encoded and old_title not in encoded
    assert version.articles["retur-sv"].title not in encoded  # unchanged: taken from the base
    updated = LiveIndex(settings).current
    assert updated.title_vectors is not None
    after = dict(zip(updated.articles, updated.title_vectors, strict=True))
    assert np.allclose(after["returns-policy"], embedder.encode(["Sending things back"])[0])
    assert np.array_equal(after["retur-sv"], titles["retur-sv"])

    (VersionStore(settings.kb_dir).live_path() / "titles.npy").unlink()
    with pytest.raises(KnowledgeUnavailable, match="title vectors=-1"):
        IndexVersion(VersionStore(settings.kb_dir).live_path(), settings).check_counts()


def _edit_gift_cards(settings: KbSettings) -> None:
    path = settings.source / "en/gift-cards.md"
    path.write_text(path.read_text().replace("24 months", "36 months"), encoding="utf-8")


def test_an_update_is_verified_against_its_base_without_a_full_load(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(settings)
    _edit_gift_cards(settings)
    full_loads: list[Path] = []
    full_verify = verification.verify

    def counting_verify(path: Path, *args: object, **kwargs: object) -> None:
        full_loads.append(path)
        full_verify(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verification, "verify", counting_verify)
    result = build(settings, incremental=True)
    assert result.incremental and not full_loads
    live = VersionStore(settings.kb_dir).live_path()
    manifest = json.loads((live / "manifest.json").read_text())
    # a Flat index is filled from the segments' vectors: no index file to write, sync, read
    assert manifest["dense_file"] is False and not (live / "dense.faiss").exists()
    version = LiveIndex(settings).current
    version.check_counts()
    assert int(version.index.ntotal) == result.passages
    assert "36 months" in version.search("gift cards valid months")[0].passage


def _new_segment(version_dir: Path) -> Path:
    manifest = json.loads((version_dir / "manifest.json").read_text())
    return version_dir / "segments" / manifest["segments"][-1]


def _break_vectors(version_dir: Path) -> None:
    (_new_segment(version_dir) / "vectors.npy").write_bytes(b"\x93NUMPY broken")


def _break_records(version_dir: Path) -> None:
    records = _new_segment(version_dir) / "passages.jsonl"
    records.write_bytes(records.read_bytes()[::-1])  # same length, not its passages


def _break_titles(version_dir: Path) -> None:
    (version_dir / "titles.npy").unlink()


def _break_articles(version_dir: Path) -> None:
    articles = json.loads((version_dir / "articles.json").read_text())
    (version_dir / "articles.json").write_text(json.dumps(articles[1:]))


def _break_manifest(version_dir: Path) -> None:
    manifest = json.loads((version_dir / "manifest.json").read_text())
    manifest["article_passages"]["gift-cards"] += 1
    (version_dir / "manifest.json").write_text(json.dumps(manifest))


def _break_shared_segment(version_dir: Path) -> None:
    """A shared segment that is no longer the base's file (a damaged copy instead of a link):
    the update cannot vouch for it, and the full verification finds the damage."""
    manifest = json.loads((version_dir / "manifest.json").read_text())
    ids = version_dir / "segments" / manifest["segments"][0] / "ids.npy"
    data = ids.read_bytes()
    ids.unlink()
    ids.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    "damage",
    [_break_vectors, _break_records, _break_titles, _break_articles, _break_manifest,
     _break_shared_segment],
)
def test_an_update_whose_version_is_damaged_before_verification_never_goes_live(
    settings: KbSettings, monkeypatch: pytest.MonkeyPatch, damage: object
) -> None:
    store = VersionStore(settings.kb_dir)
    build(settings)
    before = store.live_name()
    _edit_gift_cards(settings)

    def damage_after_rename(stage: str) -> None:
        if stage == "renamed":
            newest = sorted(store.names())[-1]
            damage(store.versions_dir / newest)  # type: ignore[operator]

    monkeypatch.setattr(publish, "stage", damage_after_rename)
    with pytest.raises(BuildError, match="failed verification"):
        build(settings, incremental=True)
    assert store.live_name() == before
    hits = LiveIndex(settings).search("gift cards valid months", k=10)
    assert "24 months" in next(h.passage for h in hits if h.article_id == "gift-cards")


def test_counts_of_live_passages_are_checked_against_every_segment(settings: KbSettings) -> None:
    build(settings)
    _edit_gift_cards(settings)
    build(settings, incremental=True)
    live = VersionStore(settings.kb_dir).live_path()
    manifest = json.loads((live / "manifest.json").read_text())
    verification._check_live_passages(live, manifest)
    # an article placed in a segment that does not hold it, or counted wrong
    moved = json.loads(json.dumps(manifest))
    moved["article_segments"]["gift-cards"] = "s-nowhere"
    with pytest.raises(KnowledgeUnavailable, match="do not match"):
        verification._check_live_passages(live, moved)
    miscounted = json.loads(json.dumps(manifest))
    miscounted["article_passages"]["returns-policy"] += 1
    miscounted["counts"]["passages"] += 1
    with pytest.raises(KnowledgeUnavailable, match="do not match"):
        verification._check_live_passages(live, miscounted)
    # an article without its passages
    dropped = json.loads(json.dumps(manifest))
    del dropped["article_segments"]["gift-cards"]
    with pytest.raises(KnowledgeUnavailable):
        verification._check_live_passages(live, dropped)
