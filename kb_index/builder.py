"""Crash-safe builds and incremental updates of index versions.

A build reads the articles (``Sources``), embeds the passages of the new and edited ones
(build_vectors), lays out the new version's segments (``BuildPlan``, build_plan), then writes,
verifies and publishes it (publish). A build writes a new folder ``versions/.building-<v>``,
renames it to ``versions/<v>`` when every file is written and synced, loads it back and verifies
it (counts and a smoke query), and only then moves the live pointer. A process killed at any
point leaves the pointer on the previous, complete version. ``KB_CRASH_AT=<stage>`` kills the
process at a named stage (crash tests, publish.stage).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kb_index import dense, publish, segments, verification
from kb_index.articles import ArticleProblem, load_articles
from kb_index.build_plan import BuildPlan, Sources, full_layout, full_plan, shared_layout
from kb_index.build_vectors import dense_chance, new_passages, title_vectors
from kb_index.embedder import Embedder
from kb_index.errors import BuildError, KnowledgeError
from kb_index.fusion import FusionWeights
from kb_index.publish import write_version
from kb_index.search import IndexVersion
from kb_index.segments import SegmentData
from kb_index.settings import KbSettings
from kb_index.types import Article
from kb_index.version_files import ARTICLES_FILE, DENSE_FILE, TITLES_FILE, known_articles
from kb_index.versions import FORMAT, VersionStore, read_manifest

logger = logging.getLogger(__name__)

# the build's public names; full_plan and write_version for benchmarks that plan a version
__all__ = ["BuildPlan", "BuildResult", "apply_fusion", "build", "full_plan", "rollback",
           "write_version"]


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


def _read_sources(
    settings: KbSettings, store: VersionStore, incremental: bool, given: list[Article] | None
) -> Sources:
    """The articles to build from (``given``, or the source folder's, reusing the base's
    parse of unchanged files) and, for an update, the live version it starts from."""
    problems: list[ArticleProblem] = []
    base_info = _base_version(store, settings) if incremental else None
    base, base_manifest = base_info if base_info is not None else (None, {})
    if given is not None:
        articles = list(given)
    else:
        known = known_articles(base) if base is not None else None
        articles, problems = load_articles(settings.source, known)
    return Sources.of(articles, problems, base, base_manifest)


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
        started = time.perf_counter()
        sources = _read_sources(settings, store, incremental, articles)
        if strict and sources.problems:
            raise BuildError(
                f"{len(sources.problems)} bad article(s); first: {sources.problems[0].message}"
            )
        if not sources.articles:
            raise BuildError(f"no valid articles in {settings.source}")
        publish.stage("parsed")
        embedder = embedder or settings.embedder()
        if settings.english_dense_model:
            english_embedder = english_embedder or settings.embedder(settings.english_dense_model)
        else:
            english_embedder = None
        if sources.unchanged:
            live = int(sources.base_manifest.get("counts", {}).get("passages", 0))
            return BuildResult(store.live_name() or "", len(sources.articles), live, 0, live, 0,
                               sources.problems, time.perf_counter() - started, True,
                               unchanged=True)
        new = new_passages(sources.changed, settings, embedder, english_embedder, progress)
        publish.stage("embedded")
        plan = _plan(settings, store, sources, new, embedder, search_params)
        name = publish.write_version(settings, store, plan, embedder, english_embedder)
        return BuildResult(
            version=name,
            articles=len(sources.articles),
            passages=plan.live_passages,
            embedded=len(new),
            reused=plan.live_passages - len(new),
            removed=len(sources.removed),
            problems=sources.problems,
            seconds=time.perf_counter() - started,
            incremental=sources.base is not None,
        )


def _plan(
    settings: KbSettings, store: VersionStore, sources: Sources, new: SegmentData,
    embedder: Embedder, search_params: str,
) -> BuildPlan:
    """Start the new version's folder and plan it: shared segments plus one new segment for an
    update, else every live passage in one segment (with a fresh chance similarity)."""
    name, building = store.start_building()
    shares_base = sources.shares_base()
    if shares_base:
        layout, index = shared_layout(sources, new, name, building, settings, embedder.dimension)
        chance = sources.base_manifest.get("dense_chance")  # measured by the last full build
    else:
        # full build, or an update that rewrites everything into one segment (compaction)
        layout = full_layout(sources, new, name, embedder.dimension)
        chance = dense_chance(layout.new_data, {a.id: a.language for a in sources.articles})
        index = dense.stored_index(settings.index_factory, layout.new_data.ids,
                                   layout.new_data.vectors)
    base = sources.base
    return BuildPlan(
        name=name,
        building=building,
        articles=sources.articles,
        segments=layout,
        index=index,
        titles=title_vectors(embedder, sources.articles, settings, base, sources.changed_ids),
        embedded=len(new),
        problems=sources.problems,
        search_params=search_params,
        fusion=_live_fusion(store, settings),
        dense_chance=chance,
        base_version=base.name if base is not None else None,
        shared_base=base if shares_base else None,
        probe=sources.changed[0] if sources.changed else None,
    )


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
        for item in (DENSE_FILE, ARTICLES_FILE, TITLES_FILE):
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
        probe = next(iter(known_articles(live).values()))
        verification.verify(final, settings, embedder, probe)
        store.set_live(name)
        store.prune(settings.keep_versions)
        return name


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
