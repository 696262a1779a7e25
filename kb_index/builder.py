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
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from kb_index import dense
from kb_index.articles import ArticleProblem, load_articles
from kb_index.embedder import Embedder, get_embedder
from kb_index.errors import BuildError, KnowledgeError
from kb_index.lexical import LexicalIndex
from kb_index.nlp import analyze
from kb_index.passages import passage_document, split_article
from kb_index.search import IndexVersion
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, Article
from kb_index.versions import VersionStore, read_manifest

logger = logging.getLogger(__name__)

STAGES = ("parsed", "embedded", "written", "renamed", "verified", "live")
FORMAT = 1


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
    }


def _embed(
    embedder: Embedder, rows: list[dict[str, Any]], settings: KbSettings, progress: bool
) -> np.ndarray:
    texts = [
        "\n".join((" > ".join(h for h in (r["title"], *r["heading_path"]) if h), r["text"]))
        for r in rows
    ]
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    chunk = max(settings.embed_batch * 4, 1)
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress) as bar:
        for start in range(0, len(texts), chunk):
            batch = texts[start : start + chunk]
            parts.append(embedder.encode(batch, batch_size=settings.embed_batch))
            bar.update(len(batch))
    return np.vstack(parts).astype(np.float32)


def _base_version(store: VersionStore, settings: KbSettings) -> Path | None:
    """The live version if an update may reuse its passages and vectors."""
    name = store.live_name()
    if name is None:
        return None
    try:
        path = store.live_path()
        manifest = read_manifest(path)
    except KnowledgeError:
        return None
    same = (
        manifest.get("format") == FORMAT
        and manifest.get("model") == settings.model
        and manifest.get("index_factory") == settings.index_factory
        and manifest.get("passage_chars") == settings.passage_chars
        and manifest.get("passage_overlap") == settings.passage_overlap
    )
    return path if same else None


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
) -> BuildResult:
    """Build (or, with ``incremental``, update) a new version and make it live when verified."""
    settings = settings.with_model()
    store = VersionStore(settings.kb_dir)
    with store.build_lock():
        leftovers = store.remove_leftovers()
        if leftovers:
            logger.warning("removed unfinished builds: %s", ", ".join(leftovers))
        return _build_locked(
            settings, store, strict, incremental, progress, embedder, search_params, articles
        )


def _build_locked(
    settings: KbSettings,
    store: VersionStore,
    strict: bool,
    incremental: bool,
    progress: bool,
    embedder: Embedder | None,
    search_params: str,
    given: list[Article] | None,
) -> BuildResult:
    started = time.perf_counter()
    problems: list[ArticleProblem] = []
    base = _base_version(store, settings) if incremental else None
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
    embedder = embedder or get_embedder(settings.model)

    base_rows: dict[str, list[int]] = {}
    base_hash: dict[str, str] = {}
    base_all: list[dict[str, Any]] = []
    base_vectors: np.ndarray | None = None
    if base is not None:
        with open(base / "passages.jsonl", encoding="utf-8") as handle:
            base_all = [json.loads(line) for line in handle]
        for i, row in enumerate(base_all):
            base_rows.setdefault(row["article_id"], []).append(i)
        base_hash = {
            a["id"]: a["content_hash"]
            for a in json.loads((base / "articles.json").read_text(encoding="utf-8"))
        }
        base_vectors = np.load(base / "vectors.npy")

    current_ids = {a.id for a in articles}
    changed = [a for a in articles if base_hash.get(a.id) != a.content_hash]
    removed_articles = [aid for aid in base_hash if aid not in current_ids]
    if base is not None and not changed and not removed_articles:
        name = store.live_name() or ""
        return BuildResult(name, len(articles), len(base_all), 0, len(base_all), 0, problems,
                           time.perf_counter() - started, True, unchanged=True)

    new_rows: dict[str, list[dict[str, Any]]] = {}
    for article in tqdm(changed, desc="splitting", unit="article", disable=not progress):
        new_rows[article.id] = _passage_rows(article, settings)
    flat_new = [r for a in changed for r in new_rows[a.id]]
    new_vectors = _embed(embedder, flat_new, settings, progress)
    _stage("embedded")

    # assemble rows and vectors in article order
    rows: list[dict[str, Any]] = []
    pieces: list[np.ndarray] = []
    new_offset = 0
    new_pos: dict[str, tuple[int, int]] = {}
    for article in changed:
        count = len(new_rows[article.id])
        new_pos[article.id] = (new_offset, new_offset + count)
        new_offset += count
    reused = 0
    for article in articles:
        if article.id in new_rows:
            lo, hi = new_pos[article.id]
            rows.extend(new_rows[article.id])
            pieces.append(new_vectors[lo:hi])
        else:
            idx = base_rows.get(article.id, [])
            rows.extend(base_all[i] for i in idx)
            assert base_vectors is not None
            pieces.append(base_vectors[idx])
            reused += len(idx)
    dim = embedder.dimension
    vectors = np.vstack(pieces).astype(np.float32) if pieces else np.zeros((0, dim), np.float32)
    ids = np.array([r["id"] for r in rows], dtype=np.int64)
    if len(set(ids.tolist())) != len(ids):
        raise BuildError("passage id collision between articles; rename one of the articles")

    if base is not None:
        index = dense.load_index(base / "dense.faiss")
        gone = [
            base_all[i]["id"]
            for aid in [*removed_articles, *(a.id for a in changed)]
            for i in base_rows.get(aid, [])
        ]
        add_ids = np.array([r["id"] for r in flat_new], dtype=np.int64)
        index = dense.replace_vectors(
            index, settings.index_factory, np.array(gone, dtype=np.int64), add_ids, new_vectors,
            ids, vectors,
        )
    else:
        index = dense.build_index(settings.index_factory, ids, vectors)
    lexical = LexicalIndex.build([r["terms"] for r in rows])

    name, building = store.start_building()
    dense.save_index(index, building / "dense.faiss")
    np.save(building / "vectors.npy", vectors)
    lexical.save(building / "lexical")
    with open(building / "passages.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (building / "articles.json").write_text(
        json.dumps([_article_json(a) for a in articles], ensure_ascii=False), encoding="utf-8"
    )
    manifest = {
        "format": FORMAT,
        "version": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": settings.model,
        "dimension": dim,
        "index_factory": settings.index_factory,
        "search_params": search_params,
        "passage_chars": settings.passage_chars,
        "passage_overlap": settings.passage_overlap,
        "counts": {
            "articles": len(articles),
            "passages": len(rows),
            "embedded": len(flat_new),
            "reused": reused,
            "skipped_files": len(problems),
        },
        "base_version": base.name if base is not None else None,
        "articles": {a.id: a.content_hash for a in articles},
        "problems": [p.message for p in problems],
    }
    _stage("written")
    # the manifest is written last: a folder without one is never taken for a version
    (building / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    final = store.finish_building(name, building)
    _stage("renamed")
    verify(final, settings, embedder, articles[0])
    _stage("verified")
    store.set_live(name)
    _stage("live")
    pruned = store.prune(settings.keep_versions)
    if pruned:
        logger.info("pruned old versions: %s", ", ".join(pruned))
    return BuildResult(
        version=name,
        articles=len(articles),
        passages=len(rows),
        embedded=len(flat_new),
        reused=reused,
        removed=len(removed_articles),
        problems=problems,
        seconds=time.perf_counter() - started,
        incremental=base is not None,
    )


def verify(path: Path, settings: KbSettings, embedder: Embedder | None, probe: Article) -> None:
    """Load a version back from disk; counts must match and a smoke query must find hits."""
    try:
        version = IndexVersion(path, settings, embedder)
        version.check_counts()
        query = probe.title.strip() or probe.body[:200] or probe.id
        hits = version.search(query, k=10, audience=AUDIENCES, query_lang=probe.language)
    except KnowledgeError as exc:
        raise BuildError(f"version {path.name} failed verification: {exc}") from exc
    if not hits:
        raise BuildError(f"version {path.name} failed verification: smoke query found nothing")
    if probe.id not in {h.article_id for h in hits}:
        logger.warning("smoke query for %s did not return the article itself", probe.id)


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
