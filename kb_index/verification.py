"""Verifying a version before it goes live: loaded back in full (``verify``), or an update
checked against the live version it shares segments with (``verify_update``)."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from kb_index import segments
from kb_index.embedder import Embedder
from kb_index.errors import BuildError, KnowledgeError, KnowledgeUnavailable
from kb_index.search import IndexVersion
from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, Article
from kb_index.versions import read_current_manifest, read_manifest

logger = logging.getLogger(__name__)


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
