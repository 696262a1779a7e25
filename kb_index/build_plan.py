"""What a new version is made of, decided before anything is written.

A build starts from ``Sources`` (the articles, and the live version an update may reuse). An
update adds one segment and shares the base's segments through hard links (``shared_layout``);
a full build, or an update once the segments are many or mostly dead (compaction), writes every
live passage into one new segment (``full_layout``). ``BuildPlan`` is everything
``publish.write_version`` needs to write, verify and publish the version.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb_index import dense, segments
from kb_index.articles import ArticleProblem
from kb_index.passages import passage_id
from kb_index.segments import SegmentData
from kb_index.settings import KbSettings
from kb_index.types import Article
from kb_index.version_files import DENSE_FILE

# An update adds a segment; past this many, or when more than this share of the stored
# passages are dead (changed or deleted since), it rewrites the live passages as one segment.
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.3


@dataclass(frozen=True)
class Sources:
    """The articles a build starts from and, for an update, the live version it may reuse
    (``base``, with its manifest), with what changed against it."""

    articles: list[Article]
    problems: list[ArticleProblem]
    base: Path | None
    base_manifest: dict[str, Any]
    changed: list[Article]  # new or edited since the base (every article in a full build)
    removed: list[str]  # ids of the base's articles that are gone

    @classmethod
    def of(
        cls, articles: list[Article], problems: list[ArticleProblem],
        base: Path | None = None, base_manifest: dict[str, Any] | None = None,
    ) -> Sources:
        manifest = base_manifest or {}
        base_hash: dict[str, str] = dict(manifest.get("articles", {}))
        current_ids = {a.id for a in articles}
        return cls(
            articles, problems, base, manifest,
            changed=[a for a in articles if base_hash.get(a.id) != a.content_hash],
            removed=[aid for aid in base_hash if aid not in current_ids],
        )

    @property
    def unchanged(self) -> bool:
        """An update with nothing to do: the live version already is these articles."""
        return self.base is not None and not self.changed and not self.removed

    @property
    def changed_ids(self) -> set[str]:
        return {a.id for a in self.changed}

    def shares_base(self) -> bool:
        """Whether the new version keeps the base's segments (else it is written in full)."""
        return self.base is not None and not _needs_compaction(
            self.base_manifest, self.changed_ids, self.removed
        )


@dataclass
class SegmentPlan:
    """The segments of a new version: the base's segments it shares and the new segment."""

    segments: list[str]
    article_segments: dict[str, str]
    new_segment: str
    new_data: SegmentData
    stored: int  # passages stored in all its segments, live or not
    article_passages: dict[str, int]


@dataclass(frozen=True)
class BuildPlan:
    """Everything a new version is written from, and what its verification starts from."""

    name: str
    building: Path  # the folder being written (``VersionStore.start_building``)
    articles: list[Article]
    segments: SegmentPlan
    index: Any | None  # the dense index to store; None: a Flat index the segments fill on load
    titles: np.ndarray | None = None  # the main model's title vectors, in ``articles`` order
    embedded: int = 0  # passages embedded by this build
    problems: list[ArticleProblem] = field(default_factory=list)
    search_params: str = ""
    fusion: dict[str, float] | None = None
    dense_chance: dict[str, float] | None = None
    base_version: str | None = None  # the version an update was built from (for the manifest)
    # the live version an update shares segments with: it is verified against it
    # (verification.verify_update) instead of loaded in full
    shared_base: Path | None = None
    probe: Article | None = None  # an article the smoke query looks for (default: the first)

    @property
    def live_passages(self) -> int:
        return sum(self.segments.article_passages.values())


def segment_name(version: str) -> str:
    return f"s-{version}"


def full_plan(name: str, data: SegmentData) -> SegmentPlan:
    """Every live passage in one new segment (a full build, or a compaction)."""
    seg_name = segment_name(name)
    per_article = Counter(data.article_ids)
    return SegmentPlan([seg_name], {aid: seg_name for aid in per_article}, seg_name, data,
                       len(data), dict(per_article))


def full_layout(sources: Sources, new: SegmentData, name: str, dimension: int) -> SegmentPlan:
    """The new passages and, in an update, the base's live passages of unchanged articles,
    in one new segment."""
    data = new
    if sources.base is not None:
        changed_ids = sources.changed_ids
        current_ids = {a.id for a in sources.articles}
        base_segment: dict[str, str] = dict(sources.base_manifest.get("article_segments", {}))
        kept = segments.assemble(sources.base, sources.base_manifest["segments"], {
            aid: seg for aid, seg in base_segment.items()
            if aid in current_ids and aid not in changed_ids
        }, dimension)
        data = segments.concat([kept, data], dimension)
    return full_plan(name, data)


def shared_layout(
    sources: Sources, new: SegmentData, name: str, building: Path, settings: KbSettings,
    dimension: int,
) -> tuple[SegmentPlan, Any | None]:
    """An update's segments (the base's, linked into the folder being built, and a new one
    with ``new``) and its dense index (None: a Flat index the segments fill on load)."""
    base, manifest = sources.base, sources.base_manifest
    assert base is not None
    seg_name = segment_name(name)
    changed_ids = sources.changed_ids
    base_segment: dict[str, str] = dict(manifest.get("article_segments", {}))
    new_counts = Counter(new.article_ids)
    plan = SegmentPlan(
        segments=[*manifest["segments"], *([seg_name] if len(new) else [])],
        article_segments={
            a.id: seg_name if a.id in changed_ids else base_segment.get(a.id, "")
            for a in sources.articles
        },
        new_segment=seg_name,
        new_data=new,
        stored=int(manifest["counts"]["stored"]) + len(new),
        article_passages={
            a.id: new_counts.get(a.id, 0) if a.id in changed_ids
            else manifest["article_passages"].get(a.id, 0)
            for a in sources.articles
        },
    )
    for seg in manifest["segments"]:
        segments.link_segment(
            base / segments.SEGMENTS_DIR / seg, building / segments.SEGMENTS_DIR / seg
        )
    index = None  # a Flat index is filled from the segments when the version is loaded
    if not dense.kept_in_segments(settings.index_factory):
        gone = _passage_ids_of(manifest, [*sources.removed, *changed_ids])
        index = dense.replace_vectors(
            dense.load_index(base / DENSE_FILE), settings.index_factory, gone, new.ids,
            new.vectors, lambda: _all_vectors(building, plan, dimension),
        )
    return plan, index


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


def _all_vectors(version_dir: Path, plan: SegmentPlan, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and vectors of every live passage of the version being built (for dense rebuilds)."""
    shared = segments.assemble(
        version_dir, [s for s in plan.segments if s != plan.new_segment], plan.article_segments,
        dim,
    )
    data = segments.concat([shared, plan.new_data], dim)
    return data.ids, data.vectors
