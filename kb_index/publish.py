"""Writing a planned version to disk, verifying it and moving the live pointer to it.

The files go into ``versions/.building-<v>``; the folder becomes ``versions/<v>`` when every
file is written and synced, is verified, and only then goes live. A process killed at any point
leaves the pointer on the previous, complete version. ``KB_CRASH_AT=<stage>`` kills the process
at a named stage (crash tests).
"""

from __future__ import annotations

import json
import logging
import os
import signal
from datetime import datetime, timezone
from typing import Any

import numpy as np

from kb_index import dense, segments, verification
from kb_index.build_plan import BuildPlan
from kb_index.embedder import Embedder
from kb_index.settings import KbSettings
from kb_index.version_files import DENSE_FILE, TITLES_FILE, write_articles
from kb_index.versions import FORMAT, VersionStore
from nordvik.env import env_str

logger = logging.getLogger(__name__)

STAGES = ("parsed", "embedded", "written", "renamed", "verified", "live")


def stage(name: str) -> None:
    """A build reached stage ``name``: with KB_CRASH_AT=<name> the process is killed here."""
    if env_str(None, "KB_CRASH_AT") == name:
        logger.warning("KB_CRASH_AT=%s: killing the build process", name)
        os.kill(os.getpid(), signal.SIGKILL)


def write_version(
    settings: KbSettings, store: VersionStore, plan: BuildPlan, embedder: Embedder,
    english_embedder: Embedder | None = None,
) -> str:
    """Write the plan's new segment, dense index, title vectors, articles and manifest (last)
    into ``plan.building``, make it a version, verify it and move the live pointer; returns
    the version name. A version sharing segments with ``plan.shared_base`` is verified against
    it (see verification.verify_update), else loaded back in full."""
    building = plan.building
    if plan.segments.new_segment in plan.segments.segments:
        segments.write_segment(building / segments.SEGMENTS_DIR / plan.segments.new_segment,
                               plan.segments.new_data)
    if plan.index is not None:
        dense.save_index(plan.index, building / DENSE_FILE)
    if plan.titles is not None:
        np.save(building / TITLES_FILE, np.ascontiguousarray(plan.titles, dtype=np.float32))
    write_articles(building, plan.articles)
    manifest = _manifest(settings, plan, embedder, english_embedder)
    stage("written")
    # the manifest is written last: a folder without one is never taken for a version
    (building / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    final = store.finish_building(plan.name, building)
    stage("renamed")
    probe = plan.probe or plan.articles[0]
    verified = plan.shared_base is not None and verification.verify_update(
        final, plan.shared_base, manifest, settings, embedder, probe, english_embedder
    )
    if not verified:
        verification.verify(final, settings, embedder, plan.articles[0], english_embedder)
    stage("verified")
    store.set_live(plan.name)
    stage("live")
    pruned = store.prune(settings.keep_versions)
    if pruned:
        logger.info("pruned old versions: %s", ", ".join(pruned))
    return plan.name


def _manifest(
    settings: KbSettings, plan: BuildPlan, embedder: Embedder, english_embedder: Embedder | None
) -> dict[str, Any]:
    """The new version's manifest: what it was built with, its counts and its segments."""
    live_passages = int(plan.index.ntotal) if plan.index is not None else plan.live_passages
    manifest = {
        "format": FORMAT,
        "version": plan.name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": settings.model,
        "embed_precision": settings.embed_precision,
        "dimension": embedder.dimension,
        "index_factory": settings.index_factory,
        "search_params": plan.search_params,
        "passage_chars": settings.passage_chars,
        "passage_overlap": settings.passage_overlap,
        "english_model": settings.english_dense_model if english_embedder is not None else "",
        "english_dimension": english_embedder.dimension if english_embedder is not None else 0,
        "title_vectors": plan.titles is not None,
        "dense_file": plan.index is not None,
        "counts": {
            "articles": len(plan.articles),
            "passages": live_passages,
            "embedded": plan.embedded,
            "reused": live_passages - plan.embedded,
            "skipped_files": len(plan.problems),
            "segments": len(plan.segments.segments),
            "stored": plan.segments.stored,
        },
        "base_version": plan.base_version,
        "segments": plan.segments.segments,
        "articles": {a.id: a.content_hash for a in plan.articles},
        "article_segments": plan.segments.article_segments,
        "article_passages": plan.segments.article_passages,
        "problems": [p.message for p in plan.problems],
    }
    if plan.fusion is not None:
        manifest["fusion"] = plan.fusion
    if plan.dense_chance is not None:
        manifest["dense_chance"] = plan.dense_chance
    return manifest
