"""The files of a version folder beside its segments and manifest, and the article list.

``articles.json`` lists the version's articles (without their bodies: their passages are in
the segments), ``titles.npy`` holds the main model's vectors of their titles in that order, and
``dense.faiss`` the stored dense index (a Flat index is not stored: the segments' vectors fill it
on load). The builder writes them; the search and the builder read them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from kb_index.types import Article

ARTICLES_FILE = "articles.json"
TITLES_FILE = "titles.npy"
DENSE_FILE = "dense.faiss"


@dataclass(frozen=True)
class ArticleMeta:
    """What a loaded version keeps of an article to filter, rank and show its passages."""

    id: str
    title: str
    language: str
    audience: str
    url: str
    tags: tuple[str, ...]
    review_by: date
    content_hash: str


def article_json(a: Article) -> dict[str, Any]:
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


def write_articles(folder: Path, articles: list[Article]) -> None:
    (folder / ARTICLES_FILE).write_text(
        json.dumps([article_json(a) for a in articles], ensure_ascii=False), encoding="utf-8"
    )


def read_articles(folder: Path) -> list[dict[str, Any]]:
    """The version's article list as written (``article_json`` of each, in build order)."""
    articles: list[dict[str, Any]] = json.loads(
        (folder / ARTICLES_FILE).read_text(encoding="utf-8")
    )
    return articles


def article_metas(folder: Path) -> dict[str, ArticleMeta]:
    """The version's articles by id, in articles.json order."""
    return {
        a["id"]: ArticleMeta(
            id=a["id"],
            title=a["title"],
            language=a["language"],
            audience=a["audience"],
            url=a["url"],
            tags=tuple(a["tags"]),
            review_by=date.fromisoformat(a["review_by"]),
            content_hash=a["content_hash"],
        )
        for a in read_articles(folder)
    }


def known_articles(folder: Path) -> dict[str, Article]:
    """Articles of a version by content hash (bodies are not kept: their passages are)."""
    known = {}
    for a in read_articles(folder):
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
