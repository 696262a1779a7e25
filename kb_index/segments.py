"""Segments: immutable batches of passages that versions share.

A full build writes one segment; an update writes one more segment holding only the passages of
the changed articles, and hard-links the base version's segments into the new version folder.
The manifest says which segment holds each live article (``article_segments``), so the old
passages of a changed or deleted article are simply not live in the new version: nothing is
rewritten. Each segment folder holds::

    passages.jsonl   one JSON record per passage (id, article_id, title, heading_path, text, ...)
    offsets.npy      byte offset of each record (and the end): records are read when needed
    ids.npy          passage ids (int64), row order = passages.jsonl
    articles.json    the article id of each passage
    vectors.npy      unit-length embeddings (float32)
    english_vectors.npy  only with a second model for English (KB_ENGLISH_MODEL): its
                     embeddings of the English passages (float16; zero rows for the others)
    terms.npz        BM25 term counts (lexical.TermCounts) and vocab.json

Loading a segment reads the small arrays and maps the rest, so a version of 60,000 passages
loads in well under a second. Versions stay self-contained folders (hard links, not references),
so rollback and pruning need no reference counting: removing a version removes its links, and
a segment's files disappear with the last version that links them.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb_index.errors import KnowledgeUnavailable
from kb_index.lexical import TermCounts, merge_counts

SEGMENTS_DIR = "segments"
ENGLISH_FILE = "english_vectors.npy"


class PassageRecords(Protocol):
    """Passage records (dicts) by row."""

    def __len__(self) -> int: ...

    def get(self, row: int) -> dict[str, Any]: ...


class ListRecords:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, row: int) -> dict[str, Any]:
        return self.rows[row]


class FileRecords:
    """Records of one segment's passages.jsonl, decoded one at a time from a memory map."""

    def __init__(self, path: Path, offsets: np.ndarray) -> None:
        self.path = path
        self.offsets = offsets
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size != int(offsets[-1]):
                raise KnowledgeUnavailable(f"{path}: size does not match its offsets")
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else b""

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def get(self, row: int) -> dict[str, Any]:
        start, end = int(self.offsets[row]), int(self.offsets[row + 1])
        record: dict[str, Any] = json.loads(self._map[start:end])
        return record


class SelectedRecords:
    """Rows picked from several record sources, in order."""

    def __init__(self, parts: Sequence[tuple[PassageRecords, np.ndarray]]) -> None:
        self.parts = [p for p, _ in parts]
        self.part_of = np.concatenate(
            [np.full(len(rows), i, dtype=np.int32) for i, (_, rows) in enumerate(parts)]
            or [np.zeros(0, dtype=np.int32)]
        )
        self.row_in_part = np.concatenate(
            [rows.astype(np.int64) for _, rows in parts] or [np.zeros(0, dtype=np.int64)]
        )

    def __len__(self) -> int:
        return len(self.row_in_part)

    def get(self, row: int) -> dict[str, Any]:
        return self.parts[int(self.part_of[row])].get(int(self.row_in_part[row]))


@dataclass
class SegmentData:
    """Passages of one segment, or the live passages of a whole version once assembled."""

    ids: np.ndarray  # int64 passage ids
    article_ids: list[str]
    vectors: np.ndarray
    terms: TermCounts
    records: PassageRecords
    english: np.ndarray | None = None  # the English model's vectors (zero rows: not English)

    def __len__(self) -> int:
        return len(self.article_ids)

    @classmethod
    def from_rows(
        cls, rows: list[dict[str, Any]], vectors: np.ndarray, terms: TermCounts,
        english: np.ndarray | None = None,
    ) -> SegmentData:
        return cls(
            np.array([r["id"] for r in rows], dtype=np.int64),
            [r["article_id"] for r in rows],
            vectors,
            terms,
            ListRecords(rows),
            english,
        )


def write_segment(folder: Path, data: SegmentData) -> None:
    n = len(data)
    if not n == len(data.ids) == data.vectors.shape[0] == data.terms.n_docs == len(data.records):
        raise ValueError("segment ids, records, vectors and term counts differ in length")
    if data.english is not None and data.english.shape[0] != n:
        raise ValueError("segment English vectors and passages differ in length")
    folder.mkdir(parents=True)
    offsets = np.zeros(n + 1, dtype=np.int64)
    with open(folder / "passages.jsonl", "wb") as handle:
        for row in range(n):
            line = json.dumps(data.records.get(row), ensure_ascii=False).encode("utf-8") + b"\n"
            handle.write(line)
            offsets[row + 1] = offsets[row] + len(line)
    np.save(folder / "offsets.npy", offsets)
    np.save(folder / "ids.npy", np.asarray(data.ids, dtype=np.int64))
    (folder / "articles.json").write_text(json.dumps(data.article_ids), encoding="utf-8")
    np.save(folder / "vectors.npy", np.ascontiguousarray(data.vectors, dtype=np.float32))
    if data.english is not None:
        np.save(folder / ENGLISH_FILE, np.ascontiguousarray(data.english, dtype=np.float16))
    data.terms.save(folder)


def read_segment(folder: Path) -> SegmentData:
    try:
        ids = np.load(folder / "ids.npy")
        article_ids = json.loads((folder / "articles.json").read_text(encoding="utf-8"))
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        records = FileRecords(folder / "passages.jsonl", np.load(folder / "offsets.npy"))
        english_path = folder / ENGLISH_FILE
        english = np.load(english_path, mmap_mode="r") if english_path.exists() else None
    except (OSError, ValueError) as exc:
        raise KnowledgeUnavailable(f"segment {folder}: unreadable ({exc})") from exc
    terms = TermCounts.load(folder)
    if not len(ids) == len(article_ids) == vectors.shape[0] == terms.n_docs == len(records) or (
        english is not None and english.shape[0] != len(ids)
    ):
        raise KnowledgeUnavailable(f"segment {folder}: its files differ in passage count")
    return SegmentData(ids, article_ids, vectors, terms, records, english)


def link_segment(source: Path, target: Path) -> None:
    """Share a segment with a new version: hard links (a copy where links are not possible)."""
    target.mkdir(parents=True)
    for item in source.iterdir():
        try:
            os.link(item, target / item.name)
        except OSError:
            shutil.copy2(item, target / item.name)


def concat(parts: Sequence[SegmentData], dim: int) -> SegmentData:
    """The passages of several segments (or selections) one after another."""
    return gather([(p, np.arange(len(p))) for p in parts], dim)


def gather(parts: Sequence[tuple[SegmentData, np.ndarray]], dim: int) -> SegmentData:
    """The listed rows of several segments one after another; the vectors are copied once,
    straight from the segments' memory maps into one array."""
    parts = [(p, keep) for p, keep in parts if len(keep)]
    total = sum(len(keep) for _, keep in parts)
    vectors = np.empty((total, dim), dtype=np.float32)
    english_parts = [p.english for p, _ in parts]
    english = None
    if english_parts and all(e is not None for e in english_parts):
        english = np.empty((total, english_parts[0].shape[1]), dtype=np.float16)  # type: ignore[union-attr]
    at = 0
    for part, keep in parts:
        end = at + len(keep)
        _copy_rows(part.vectors, keep, vectors[at:end])
        if english is not None and part.english is not None:
            _copy_rows(part.english, keep, english[at:end])
        at = end
    return SegmentData(
        np.concatenate([p.ids[keep] for p, keep in parts]) if parts
        else np.zeros(0, dtype=np.int64),
        [p.article_ids[i] for p, keep in parts for i in keep.tolist()],
        vectors,
        merge_counts([p.terms if len(keep) == len(p) else p.terms.rows(keep)
                      for p, keep in parts]),
        SelectedRecords([(p.records, keep) for p, keep in parts]),
        english,
    )


def _copy_rows(source: np.ndarray, rows: np.ndarray, out: np.ndarray) -> None:
    if len(rows) == len(source):
        out[...] = source
    else:  # mode="clip": no buffered second copy (the rows are valid)
        np.take(source, rows, axis=0, out=out, mode="clip")


def assemble(
    version_dir: Path, segments: Sequence[str], article_segments: Mapping[str, str], dim: int
) -> SegmentData:
    """The live passages of a version, in segment order: a passage is live when the manifest
    places its article in the segment that holds it."""
    parts = []
    for name in segments:
        part = read_segment(version_dir / SEGMENTS_DIR / name)
        keep = np.array(
            [i for i, aid in enumerate(part.article_ids) if article_segments.get(aid) == name],
            dtype=np.int64,
        )
        parts.append((part, keep))
    return gather(parts, dim)
