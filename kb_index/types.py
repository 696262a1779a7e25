"""Records shared by indexing, storage and querying."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from nordvik.languages import LANGUAGES

__all__ = ["AUDIENCES", "LANGUAGES", "Article", "Hit", "KnowledgeSearch", "Passage"]
AUDIENCES = ("public", "internal")


@dataclass(frozen=True)
class Article:
    """One knowledge article, parsed from a Markdown file with YAML front matter."""

    id: str
    title: str
    language: str
    audience: str
    owner: str
    updated: date
    review_by: date
    body: str
    path: str
    url: str
    tags: tuple[str, ...] = ()
    content_hash: str = ""
    # (size, mtime_ns) of the file when it was read: an update skips files whose stamp is unchanged
    file_stamp: tuple[int, int] = field(default=(0, 0), compare=False)

    def is_stale(self, today: date) -> bool:
        return self.review_by < today


@dataclass(frozen=True)
class Passage:
    """A chunk of an article; ``id`` is the stable integer id used in the vector index."""

    id: int
    article_id: str
    title: str
    heading_path: tuple[str, ...]
    text: str
    language: str
    audience: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One search result: the best passage of one article (results are de-duplicated by article)."""

    article_id: str
    title: str
    passage: str
    score: float
    language: str
    url: str
    stale: bool
    audience: str = "public"
    heading_path: tuple[str, ...] = field(default_factory=tuple)


class KnowledgeSearch(Protocol):
    """What callers (Slack app, Rasa actions) need from the knowledge index."""

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        lang: str | None = None,
        audience: tuple[str, ...] = ("public",),
        tags: tuple[str, ...] = (),
    ) -> list[Hit]: ...
