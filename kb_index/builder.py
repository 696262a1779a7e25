"""Crash-safe builds and incremental updates of index versions.

A build writes a new folder ``versions/.building-<v>``, renames it to ``versions/<v>`` when every
file is written and synced, loads it back and verifies it (counts and a smoke query), and only
then moves the live pointer. A process killed at any point leaves the pointer on the previous,
complete version. ``KB_CRASH_AT=<stage>`` kills the process at a named stage (crash tests).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from kb_index import dense, segments
from kb_index.articles import ArticleProblem, load_articles
from kb_index.embedder import Embedder
from kb_index.errors import BuildError, KnowledgeError, KnowledgeUnavailable
from kb_index.fusion import FusionWeights
from kb_index.lexical import TermCounts
from kb_index.nlp import analyze
from kb_index.passages import passage_document, passage_id, split_article
from kb_index.search import IndexVersion
from kb_index.segments import SegmentData
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, Article
from kb_index.versions import FORMAT, VersionStore, read_current_manifest, read_manifest

logger = logging.getLogger(__name__)

STAGES = ("parsed", "embedded", "written", "renamed", "verified", "live")
# An update adds a segment; past this many, or when more than this share of the stored
# passages are dead (changed or deleted since), it rewrites the live passages as one segment.
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.3


@dataclass
class BuildResult:
    version: str
    articles: int
    passages: int
    embedded: int
    reused: int
    removed: int
    problems: list[ArticleProblem] = field(default_factory=list)
    seconds: float = 0.0
    incremental: bool = False
    unchanged: bool = False


def _stage(name: str) -> None:
    if os.environ.get("KB_CRASH_AT") == name:
        logger.warning("KB_CRASH_AT=%s: killing the build process", name)
        os.kill(os.getpid(), signal.SIGKILL)


def _passage_rows(article: Article, settings: KbSettings) -> list[dict[str, Any]]:
    rows = []
    for p in split_article(article, settings.passage_chars, settings.passage_overlap):
        rows.append(
            {
                "id": p.id,
                "article_id": p.article_id,
                "title": p.title,
                "heading_path": list(p.heading_path),
                "text": p.text,
                "language": p.language,
                "audience": p.audience,
                "tags": list(p.tags),
                "terms": analyze(passage_document(p), p.language),
            }
        )
    return rows


def _article_json(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "title": a.title,
        "language": a.language,
        "audience": a.audience,
        "owner": a.owner,
        "updated": a.updated.isoformat(),
        "review_by": a.review_by.isoformat(),
        "url": a.url,
        "tags": list(a.tags),
        "content_hash": a.content_hash,
        "path": a.path,
        "file_stamp": list(a.file_stamp),
    }


def _embed(
    embedder: Embedder, rows: list[dict[str, Any]], settings: KbSettings, progress: bool,
    desc: str = "embedding",
) -> np.ndarray:
    texts = [
        "\n".join((" > ".join(h for h in (r["title"], *r["heading_path"]) if h), r["text"]))
        for r in rows
    ]
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    chunk = max(settings.embed_batch * 4, 1)
    parts = []
    with tqdm(total=len(texts), desc=desc, unit="passage", disable=not progress) as bar:
        for start in range(0, len(texts), chunk):
            batch = texts[start : start + chunk]
            parts.append(embedder.encode(batch, batch_size=settings.embed_batch))
            bar.update(len(batch))
    return np.vstack(parts).astype(np.float32)


def embed_english(
    embedder: Embedder | None, rows: list[dict[str, Any]], settings: KbSettings,
    progress: bool = False,
) -> np.ndarray | None:
    """The English model's vectors of the English passages (float16), zero rows for the
    others; None without an English model."""
    if embedder is None:
        return None
    out = np.zeros((len(rows), embedder.dimension), dtype=np.float16)
    english = [i for i, r in enumerate(rows) if r["language"] == "en"]
    if english:
        vectors = _embed(embedder, [rows[i] for i in english], settings, progress,
                         "embedding English")
        out[english] = vectors.astype(np.float16)
    return out


TITLES_FILE = "titles.npy"
DENSE_FILE = "dense.faiss"


def title_vectors(
    embedder: Embedder, articles: list[Article], settings: KbSettings,
    base: Path | None = None, changed: set[str] | None = None,
) -> np.ndarray:
    """The main model's vectors of the articles' titles, in ``articles`` order (zero rows for
    empty titles); an update takes the unchanged articles' rows from the base version."""
    out = np.zeros((len(articles), embedder.dimension), dtype=np.float32)
    known: dict[str, np.ndarray] = {}
    if base is not None and (base / TITLES_FILE).exists():
        stored = np.load(base / TITLES_FILE)
        order = [a["id"] for a in json.loads((base / "articles.json").read_text("utf-8"))]
        if len(order) == len(stored):
            known = {aid: stored[i] for i, aid in enumerate(order)}
    todo = []
    for i, a in enumerate(articles):
        if a.id in known and a.id not in (changed or set()):
            out[i] = known[a.id]
        elif a.title.strip():
            todo.append(i)
    if todo:
        out[todo] = embedder.encode([articles[i].title for i in todo],
                                    batch_size=settings.embed_batch)
    return out


def _base_version(store: VersionStore, settings: KbSettings) -> tuple[Path, dict[str, Any]] | None:
    """The live version and its manifest, if an update may reuse its passages and vectors."""
    if store.live_name() is None:
        return None
    try:
        path = store.live_path()
        manifest = read_manifest(path)
    except KnowledgeError:
        return None
    same = (
        manifest.get("format") == FORMAT
        and manifest.get("model") == settings.model
        and manifest.get("embed_precision") == settings.embed_precision
        and manifest.get("index_factory") == settings.index_factory
        and manifest.get("passage_chars") == settings.passage_chars
        and manifest.get("passage_overlap") == settings.passage_overlap
        and manifest.get("english_model", "") == settings.english_dense_model
    )
    return (path, manifest) if same else None


def _known_articles(base: Path) -> dict[str, Article]:
    """Articles of the base version by content hash (bodies are not kept: their passages are)."""
    known = {}
    for a in json.loads((base / "articles.json").read_text(encoding="utf-8")):
        known[a["content_hash"]] = Article(
            id=a["id"],
            title=a["title"],
            language=a["language"],
            audience=a["audience"],
            owner=a["owner"],
            updated=date.fromisoformat(a["updated"]),
            review_by=date.fromisoformat(a["review_by"]),
            body="",
            path=a["path"],
            url=a["url"],
            tags=tuple(a["tags"]),
            content_hash=a["content_hash"],
            file_stamp=(int(a["file_stamp"][0]), int(a["file_stamp"][1])),
        )
    return known


def build(
    settings: KbSettings,
    *,
    strict: bool = False,
    incremental: bool = False,
    progress: bool = False,
    embedder: Embedder | None = None,
    search_params: str = "",
    articles: list[Article] | None = None,
    english_embedder: Embedder | None = None,
) -> BuildResult:
    """Build (or, with ``incremental``, update) a new version and make it live when verified.
    With an English model (``settings.english_dense_model``) English passages are also
    embedded by it (``english_embedder``, default: the cached model)."""
    settings = settings.with_model()
    store = VersionStore(settings.kb_dir)
    with store.build_lock():
        leftovers = store.remove_leftovers()
        if leftovers:
            logger.warning("removed unfinished builds: %s", ", ".join(leftovers))
        return _build_locked(
            settings, store, strict, incremental, progress, embedder, search_params, articles,
            english_embedder,
        )


@dataclass
class Plan:
    """What a new version is made of: the base's segments it shares and the new segment."""

    segments: list[str]
    article_segments: dict[str, str]
    new_segment: str
    new_data: SegmentData
    stored: int  # passages stored in all its segments, live or not
    article_passages: dict[str, int]


def _new_segment_data(
    rows: list[dict[str, Any]], vectors: np.ndarray, english: np.ndarray | None = None
) -> SegmentData:
    terms = TermCounts.from_documents([r.pop("terms") for r in rows])
    return SegmentData.from_rows(rows, vectors, terms, english)


def _build_locked(
    settings: KbSettings,
    store: VersionStore,
    strict: bool,
    incremental: bool,
    progress: bool,
    embedder: Embedder | None,
    search_params: str,
    given: list[Article] | None,
    english_embedder: Embedder | None = None,
) -> BuildResult:
    started = time.perf_counter()
    problems: list[ArticleProblem] = []
    base_info = _base_version(store, settings) if incremental else None
    base, base_manifest = base_info if base_info is not None else (None, {})
    if given is not None:
        articles = list(given)
    else:
        known = _known_articles(base) if base is not None else None
        articles, problems = load_articles(settings.source, known)
    if strict and problems:
        raise BuildError(f"{len(problems)} bad article(s); first: {problems[0].message}")
    if not articles:
        raise BuildError(f"no valid articles in {settings.source}")
    _stage("parsed")
    embedder = embedder or settings.embedder()
    if settings.english_dense_model:
        english_embedder = english_embedder or settings.embedder(settings.english_dense_model)
    else:
        english_embedder = None

    base_hash: dict[str, str] = dict(base_manifest.get("articles", {}))
    base_segment: dict[str, str] = dict(base_manifest.get("article_segments", {}))
    current_ids = {a.id for a in articles}
    changed = [a for a in articles if base_hash.get(a.id) != a.content_hash]
    removed_articles = [aid for aid in base_hash if aid not in current_ids]
    base_live = int(base_manifest.get("counts", {}).get("passages", 0))
    if base is not None and not changed and not removed_articles:
        return BuildResult(store.live_name() or "", len(articles), base_live, 0, base_live, 0,
                           problems, time.perf_counter() - started, True, unchanged=True)

    flat_new: list[dict[str, Any]] = []
    for article in tqdm(changed, desc="splitting", unit="article", disable=not progress):
        flat_new.extend(_passage_rows(article, settings))
    new_vectors = _embed(embedder, flat_new, settings, progress)
    new_english = embed_english(english_embedder, flat_new, settings, progress)
    new_ids = np.array([r["id"] for r in flat_new], dtype=np.int64)
    new_counts = Counter(r["article_id"] for r in flat_new)
    _stage("embedded")

    name, building = store.start_building()
    seg_name = segment_name(name)
    changed_ids = {a.id for a in changed}
    shares_base = base is not None and not _needs_compaction(
        base_manifest, changed_ids, removed_articles
    )
    if base is not None and shares_base:
        plan = Plan(
            segments=[*base_manifest["segments"], *([seg_name] if flat_new else [])],
            article_segments={
                a.id: seg_name if a.id in changed_ids else base_segment.get(a.id, "")
                for a in articles
            },
            new_segment=seg_name,
            new_data=_new_segment_data(flat_new, new_vectors, new_english),
            stored=int(base_manifest["counts"]["stored"]) + len(flat_new),
            article_passages={
                a.id: new_counts.get(a.id, 0) if a.id in changed_ids
                else base_manifest["article_passages"].get(a.id, 0)
                for a in articles
            },
        )
        for seg in base_manifest["segments"]:
            segments.link_segment(
                base / segments.SEGMENTS_DIR / seg, building / segments.SEGMENTS_DIR / seg
            )
        chance = base_manifest.get("dense_chance")  # measured by the last full build
        index = None  # a Flat index is filled from the segments when the version is loaded
        if not dense.kept_in_segments(settings.index_factory):
            gone = _passage_ids_of(base_manifest, [*removed_articles, *changed_ids])
            index = dense.replace_vectors(
                dense.load_index(base / DENSE_FILE), settings.index_factory, gone, new_ids,
                new_vectors, lambda: _all_vectors(building, plan, embedder.dimension),
            )
    else:
        # full build, or an update that rewrites everything into one segment (compaction)
        data = _new_segment_data(flat_new, new_vectors, new_english)
        if base is not None:
            kept = segments.assemble(base, base_manifest["segments"], {
                aid: seg for aid, seg in base_segment.items()
                if aid in current_ids and aid not in changed_ids
            }, embedder.dimension)
            data = segments.concat([kept, data], embedder.dimension)
        plan = full_plan(name, data)
        chance = dense_chance(data, {a.id: a.language for a in articles})
        index = dense.stored_index(settings.index_factory, data.ids, data.vectors)
    name = write_version(
        settings, store, embedder, name, building, articles, plan, index,
        base_version=base.name if base is not None else None,
        embedded=len(flat_new), problems=problems, search_params=search_params,
        fusion=_live_fusion(store, settings),
        dense_chance=chance,
        english_embedder=english_embedder,
        titles=title_vectors(embedder, articles, settings, base, changed_ids),
        base=base if shares_base else None,
        probe=changed[0] if changed else None,
    )
    live_passages = sum(plan.article_passages.values())
    return BuildResult(
        version=name,
        articles=len(articles),
        passages=live_passages,
        embedded=len(flat_new),
        reused=live_passages - len(flat_new),
        removed=len(removed_articles),
        problems=problems,
        seconds=time.perf_counter() - started,
        incremental=base is not None,
    )


def write_version(
    settings: KbSettings,
    store: VersionStore,
    embedder: Embedder,
    name: str,
    building: Path,
    articles: list[Article],
    plan: Plan,
    index: Any | None,
    *,
    base_version: str | None = None,
    embedded: int = 0,
    problems: list[ArticleProblem] | None = None,
    search_params: str = "",
    fusion: dict[str, float] | None = None,
    dense_chance: dict[str, float] | None = None,
    english_embedder: Embedder | None = None,
    titles: np.ndarray | None = None,
    base: Path | None = None,
    probe: Article | None = None,
) -> str:
    """Write the new segment, dense index (``None``: a Flat index the segments' vectors fill on
    load), articles and manifest (last) into ``building``, make it a version, verify it and
    move the live pointer; returns the version name. ``base``: the live version an update
    shares segments with (the update is then verified against it, see verify_update);
    ``probe``: an article the smoke query looks for (default: the first)."""
    problems = problems or []
    if plan.new_segment in plan.segments:
        segments.write_segment(building / segments.SEGMENTS_DIR / plan.new_segment, plan.new_data)
    if index is not None:
        dense.save_index(index, building / DENSE_FILE)
    if titles is not None:
        np.save(building / TITLES_FILE, np.ascontiguousarray(titles, dtype=np.float32))
    (building / "articles.json").write_text(
        json.dumps([_article_json(a) for a in articles], ensure_ascii=False), encoding="utf-8"
    )
    live_passages = (int(index.ntotal) if index is not None
                     else sum(plan.article_passages.values()))
    manifest = {
        "format": FORMAT,
        "version": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": settings.model,
        "embed_precision": settings.embed_precision,
        "dimension": embedder.dimension,
        "index_factory": settings.index_factory,
        "search_params": search_params,
        "passage_chars": settings.passage_chars,
        "passage_overlap": settings.passage_overlap,
        "english_model": settings.english_dense_model if english_embedder is not None else "",
        "english_dimension": english_embedder.dimension if english_embedder is not None else 0,
        "title_vectors": titles is not None,
        "dense_file": index is not None,
        "counts": {
            "articles": len(articles),
            "passages": live_passages,
            "embedded": embedded,
            "reused": live_passages - embedded,
            "skipped_files": len(problems),
            "segments": len(plan.segments),
            "stored": plan.stored,
        },
        "base_version": base_version,
        "segments": plan.segments,
        "articles": {a.id: a.content_hash for a in articles},
        "article_segments": plan.article_segments,
        "article_passages": plan.article_passages,
        "problems": [p.message for p in problems],
    }
    if fusion is not None:
        manifest["fusion"] = fusion
    if dense_chance is not None:
        manifest["dense_chance"] = dense_chance
    _stage("written")
    # the manifest is written last: a folder without one is never taken for a version
    (building / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    final = store.finish_building(name, building)
    _stage("renamed")
    verified = base is not None and verify_update(
        final, base, manifest, settings, embedder, probe or articles[0], english_embedder
    )
    if not verified:
        verify(final, settings, embedder, articles[0], english_embedder)
    _stage("verified")
    store.set_live(name)
    _stage("live")
    pruned = store.prune(settings.keep_versions)
    if pruned:
        logger.info("pruned old versions: %s", ", ".join(pruned))
    return name


CHANCE_SAMPLE = 400  # passages per language for the chance-similarity estimate


def dense_chance(data: SegmentData, language_of: dict[str, str]) -> dict[str, float]:
    """Per language, the median cosine between passages of different articles: how alike the
    model finds two unrelated passages in that language (measured once per full build)."""
    rng = np.random.default_rng(0)
    langs = np.array([language_of.get(aid, "") for aid in data.article_ids])
    articles = np.array(data.article_ids)
    chance = {}
    for lang in sorted(set(langs.tolist()) - {""}):
        rows = np.flatnonzero(langs == lang)
        if len(rows) > CHANCE_SAMPLE:
            rows = np.sort(rng.choice(rows, CHANCE_SAMPLE, replace=False))
        vectors = np.asarray(data.vectors[rows], dtype=np.float32)
        unrelated = articles[rows][:, None] != articles[rows][None, :]
        if unrelated.sum() < 20:
            continue  # too few articles in this language to tell
        chance[lang] = round(float(np.median((vectors @ vectors.T)[unrelated])), 4)
    return chance


def _live_fusion(store: VersionStore, settings: KbSettings) -> dict[str, float] | None:
    """Fusion weights tuned for the live version carry over to the next one (same model)."""
    try:
        manifest = read_manifest(store.live_path())
    except KnowledgeError:
        return None
    fusion = manifest.get("fusion")
    same = (manifest.get("model"), manifest.get("embed_precision")) == (
        settings.model, settings.embed_precision
    )
    return fusion if same and fusion else None


def apply_fusion(
    settings: KbSettings, weights: FusionWeights, embedder: Embedder | None = None
) -> str:
    """Publish the live version again with other fusion weights: a new version that shares
    every file with the live one (hard links) and differs only in its manifest."""
    settings = settings.with_model()
    store = VersionStore(settings.kb_dir)
    with store.build_lock():
        store.remove_leftovers()
        live = store.live_path()
        manifest = read_manifest(live)
        if manifest.get("format") != FORMAT:
            raise BuildError(f"version {live.name} has an older format: run `kb build` first")
        name, building = store.start_building()
        for seg in manifest["segments"]:
            segments.link_segment(
                live / segments.SEGMENTS_DIR / seg, building / segments.SEGMENTS_DIR / seg
            )
        for item in (DENSE_FILE, "articles.json", TITLES_FILE):
            if (live / item).exists():
                os.link(live / item, building / item)
        manifest.update(
            version=name,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            base_version=live.name,
            fusion=weights.to_manifest(),
        )
        (building / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        final = store.finish_building(name, building)
        probe = next(iter(_known_articles(live).values()))
        verify(final, settings, embedder, probe)
        store.set_live(name)
        store.prune(settings.keep_versions)
        return name


def full_plan(name: str, data: SegmentData) -> Plan:
    """Every live passage in one new segment (a full build, or a compaction)."""
    seg_name = segment_name(name)
    per_article = Counter(data.article_ids)
    return Plan([seg_name], {aid: seg_name for aid in per_article}, seg_name, data, len(data),
                dict(per_article))


def segment_name(version: str) -> str:
    return f"s-{version}"


def _needs_compaction(manifest: dict[str, Any], changed: set[str], removed: list[str]) -> bool:
    """Merge everything into one segment when the segments are many or mostly dead."""
    if len(manifest["segments"]) + 1 > MAX_SEGMENTS:
        return True
    counts = manifest["counts"]
    stored = int(counts["stored"])
    live = int(counts["passages"])
    dead_after = stored - live + len(_passage_ids_of(manifest, [*changed, *removed]))
    return dead_after > MAX_DEAD_SHARE * max(stored, 1)


def _passage_ids_of(manifest: dict[str, Any], article_ids: list[str]) -> np.ndarray:
    """The live passage ids of these articles in a version (ids follow from id and count)."""
    per_article = manifest["article_passages"]
    return np.array(
        [passage_id(aid, i) for aid in set(article_ids) for i in range(per_article.get(aid, 0))],
        dtype=np.int64,
    )


def _all_vectors(version_dir: Path, plan: Plan, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and vectors of every live passage of the version being built (for dense rebuilds)."""
    shared = segments.assemble(
        version_dir, [s for s in plan.segments if s != plan.new_segment], plan.article_segments,
        dim,
    )
    data = segments.concat([shared, plan.new_data], dim)
    return data.ids, data.vectors


def verify(
    path: Path, settings: KbSettings, embedder: Embedder | None, probe: Article,
    english_embedder: Embedder | None = None,
) -> None:
    """Load a version back from disk; counts must match and a smoke query must find hits."""
    try:
        version = IndexVersion(path, settings, embedder, english_embedder)
        version.check_counts()
        query = probe.title.strip() or probe.body[:200] or probe.id
        hits = version.search(query, k=10, audience=AUDIENCES, query_lang=probe.language)
    except KnowledgeError as exc:
        raise BuildError(f"version {path.name} failed verification: {exc}") from exc
    if not hits:
        raise BuildError(f"version {path.name} failed verification: smoke query found nothing")
    if probe.id not in {h.article_id for h in hits}:
        logger.warning("smoke query for %s did not return the article itself", probe.id)


def verify_update(
    path: Path, base: Path, written: dict[str, Any], settings: KbSettings,
    embedder: Embedder | None, probe: Article, english_embedder: Embedder | None = None,
) -> bool:
    """Verify an update against the live version it was built from, reading back what the
    update wrote rather than loading all of it (a full load recomputes BM25 weights and the
    dense index of every passage: most of an update's time besides embedding).

    - Every segment shared with the base must be the base's own files (hard links: the same
      inodes), which were verified when the base went live.
    - Everything written here is read back: the manifest must be the one written; the new
      segment is loaded with the product's own code (its files must agree in length) together
      with articles.json and the title vectors, and a smoke query for a changed article must
      find hits in it.
    - The live passages the manifest describes are counted from every segment's ids and
      article lists: per article and in total they must match the manifest, every one of them
      must belong to an article of articles.json, and their ids must be distinct.

    Raises BuildError on a failure. Returns False when it cannot vouch for the version this
    way (a segment copied instead of linked, no new segment, a stored dense index): the caller
    then verifies it in full."""
    try:
        manifest = read_current_manifest(path)
        if manifest != written:
            raise KnowledgeUnavailable("the manifest on disk is not the one written")
        base_segments = set(read_manifest(base)["segments"])
        new = [seg for seg in manifest["segments"] if seg not in base_segments]
        if manifest.get("dense_file", True) or len(new) != 1 or not all(
            _same_files(base / segments.SEGMENTS_DIR / seg, path / segments.SEGMENTS_DIR / seg)
            for seg in manifest["segments"] if seg not in new
        ):
            return False
        _check_live_passages(path, manifest)
        version = IndexVersion(path, settings, embedder, english_embedder, only_segments=new)
        _check_new_parts(version, manifest)
        query = probe.title.strip() or probe.body[:200] or probe.id
        hits = version.search(query, k=10, audience=AUDIENCES, query_lang=probe.language)
    except (KnowledgeError, OSError, ValueError) as exc:
        raise BuildError(f"version {path.name} failed verification: {exc}") from exc
    if not hits:
        raise BuildError(f"version {path.name} failed verification: smoke query found nothing")
    if probe.id not in {h.article_id for h in hits}:
        logger.warning("smoke query for %s did not return the article itself", probe.id)
    return True


def _same_files(source: Path, target: Path) -> bool:
    """Whether ``target`` holds exactly ``source``'s files, as links to the same inodes."""
    names = sorted(p.name for p in source.iterdir())
    return names == sorted(p.name for p in target.iterdir()) and all(
        os.path.samefile(source / name, target / name) for name in names
    )


def _check_live_passages(path: Path, manifest: dict[str, Any]) -> None:
    """The manifest's live passages, counted from the segments' ids and article lists."""
    placed = manifest["article_segments"]
    per_article: Counter[str] = Counter()
    live_ids = []
    for seg in manifest["segments"]:
        folder = path / segments.SEGMENTS_DIR / seg
        ids = np.load(folder / "ids.npy")
        owners = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        if len(ids) != len(owners):
            raise KnowledgeUnavailable(f"segment {seg}: ids and articles differ in length")
        live = np.fromiter((placed.get(aid) == seg for aid in owners), dtype=bool,
                           count=len(owners))
        per_article.update(aid for aid, keep in zip(owners, live.tolist(), strict=True) if keep)
        live_ids.append(ids[live])
    expected = {aid: int(n) for aid, n in manifest["article_passages"].items() if int(n)}
    if dict(per_article) != expected:
        wrong = sorted(set(per_article.items()) ^ set(expected.items()))[:3]
        raise KnowledgeUnavailable(f"live passages per article do not match the manifest: {wrong}")
    total = sum(per_article.values())
    distinct = len(np.unique(np.concatenate(live_ids))) if live_ids else 0
    if total != int(manifest["counts"]["passages"]) or distinct != total:
        raise KnowledgeUnavailable(
            f"counts do not match the manifest (passages={total}, distinct ids={distinct}, "
            f"manifest {manifest['counts']['passages']})"
        )
    if set(placed) != set(manifest["articles"]) or not set(per_article) <= set(placed):
        raise KnowledgeUnavailable("articles, their segments and their passages disagree")


def _check_new_parts(version: IndexVersion, manifest: dict[str, Any]) -> None:
    """What an update wrote besides its segment: articles, title vectors; the new segment's
    records name its passages, and its vectors have the model's dimension."""
    counts = manifest["counts"]
    if set(version.articles) != set(manifest["articles"]) or len(version.articles) != int(
        counts["articles"]
    ):
        raise KnowledgeUnavailable("articles.json does not list the manifest's articles")
    if manifest.get("title_vectors") and (
        version.title_vectors is None or version.title_vectors.shape
        != (int(counts["articles"]), int(manifest["dimension"]))
    ):
        raise KnowledgeUnavailable("title vectors do not match the articles")
    if manifest.get("english_model") and (
        version.english_vectors is None or len(version.english_vectors) != version.n_passages
    ):
        raise KnowledgeUnavailable("English vectors do not match the new passages")
    for row in range(version.n_passages):
        record = version.records.get(row)
        if record["id"] != int(version.ids[row]) or record["article_id"] != version.row_article[
            row
        ]:
            raise KnowledgeUnavailable(f"passage record {row} of the new segment is not its own")


def rollback(
    settings: KbSettings, name: str | None = None, embedder: Embedder | None = None
) -> str:
    """Point live at ``name`` (default: the version before the live one) after verifying it."""
    store = VersionStore(settings.kb_dir)
    with store.build_lock():
        live = store.live_name()
        target = name or (store.previous_of(live) if live else None)
        if target is None:
            raise BuildError("nothing to roll back to")
        path = store.path_of(target)
        try:
            version = IndexVersion(path, settings, embedder)
            version.check_counts()
        except KnowledgeError as exc:
            raise BuildError(f"version {target} is not usable: {exc}") from exc
        store.set_live(target)
        return target
