"""Knowledge articles: Markdown files with YAML front matter, parsed and validated."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from kb_index.errors import ArticleError
from kb_index.settings import ARTICLE_URL
from kb_index.types import AUDIENCES, LANGUAGES, Article

logger = logging.getLogger(__name__)

REQUIRED = ("id", "title", "language", "audience", "owner", "updated", "review_by")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,199}$")
_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date is reported by field name."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class ArticleProblem:
    """A file a build skipped, and why."""

    path: str
    message: str


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def parse_article(path: Path, raw: bytes | None = None, digest: str | None = None) -> Article:
    """Parse one article file; raises ArticleError naming the file and the problem."""
    name = str(path)
    if raw is None:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ArticleError(f"{name}: cannot be read ({exc.strerror})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(
            f"{name}: unreadable encoding (not UTF-8: byte {exc.start})"
        ) from exc
    match = _FRONT.match(text)
    if match is None:
        raise ArticleError(f"{name}: bad front matter (the file must start with a '---' block)")
    try:
        meta = yaml.load(match.group(1), Loader=_FrontMatterLoader)  # noqa: S506 - safe subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"{name}: bad front matter (invalid YAML{where})") from exc
    if not isinstance(meta, dict):
        raise ArticleError(f"{name}: bad front matter (expected key: value pairs)")
    body = text[match.end() :].strip()
    return _article_from(meta, body, name, digest or content_hash(raw))


def _article_from(meta: dict[str, Any], body: str, name: str, digest: str) -> Article:
    if meta.get("id") in (None, ""):
        raise ArticleError(f"{name}: missing id")
    missing = [key for key in REQUIRED if meta.get(key) in (None, "")]
    if missing:
        raise ArticleError(f"{name}: bad front matter (missing {', '.join(missing)})")
    article_id = str(meta["id"]).strip()
    if not ID_PATTERN.match(article_id):
        raise ArticleError(
            f"{name}: bad id {article_id!r} (lower-case letters, digits and '-' only)"
        )
    language = str(meta["language"]).strip()
    if language not in LANGUAGES:
        raise ArticleError(
            f"{name}: unknown language {language!r} (expected one of {', '.join(LANGUAGES)})"
        )
    audience = str(meta["audience"]).strip()
    if audience not in AUDIENCES:
        raise ArticleError(
            f"{name}: unknown audience {audience!r} (expected one of {', '.join(AUDIENCES)})"
        )
    updated = _date(meta["updated"], "updated", name)
    review_by = _date(meta["review_by"], "review_by", name)
    tags_raw = meta.get("tags") or []
    if isinstance(tags_raw, str):
        tags_raw = [t for t in re.split(r"[,\s]+", tags_raw) if t]
    if not isinstance(tags_raw, list):
        raise ArticleError(f"{name}: bad front matter (tags must be a list)")
    if not body or not re.sub(r"^#+.*$", "", body, flags=re.MULTILINE).strip():
        raise ArticleError(f"{name}: empty body")
    return Article(
        id=article_id,
        title=str(meta["title"]).strip(),
        language=language,
        audience=audience,
        owner=str(meta["owner"]).strip(),
        updated=updated,
        review_by=review_by,
        body=body,
        path=name,
        url=ARTICLE_URL.format(id=article_id),
        tags=tuple(str(t).strip().lower() for t in tags_raw if str(t).strip()),
        content_hash=digest,
    )


def _date(value: object, key: str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ArticleError(f"{name}: bad date in {key}: {value!r} (expected YYYY-MM-DD)") from exc


def file_stamps(source: Path) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every article file: a cheap signature of the folder's state."""
    return dict(_article_files_with_stamps(source))


def _article_files_with_stamps(source: Path) -> list[tuple[str, tuple[int, int]]]:
    """Article files below ``source`` (sorted paths) with their (size, mtime_ns)."""
    if not source.is_dir():
        raise ArticleError(f"{source}: article folder does not exist")
    found: list[tuple[str, tuple[int, int]]] = []
    pending = [str(source)]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir():
                    pending.append(entry.path)
                elif (
                    entry.is_file()
                    and entry.name.endswith(".md")
                    and entry.name.lower() != "readme.md"
                ):
                    st = entry.stat()
                    found.append((entry.path, (st.st_size, st.st_mtime_ns)))
    return sorted(found)


def load_articles(
    source: Path, known: dict[str, Article] | None = None
) -> tuple[list[Article], list[ArticleProblem]]:
    """All valid articles under ``source`` and the problems of the files that were skipped.

    ``known`` maps content hashes to articles already parsed (by an earlier version). A file
    whose path, size and modification time match a known article is not read again; a file with
    the same bytes as a known article is not parsed again.
    """
    articles: list[Article] = []
    problems: list[ArticleProblem] = []
    seen: dict[str, str] = {}
    by_path = {a.path: a for a in known.values()} if known else {}
    for name, stamp in _article_files_with_stamps(source):
        previous = by_path.get(name)
        if previous is not None and previous.file_stamp == stamp:
            article = previous
        else:
            path = Path(name)
            try:
                raw = path.read_bytes()
            except OSError as exc:
                problems.append(
                    ArticleProblem(str(path), f"{path}: cannot be read ({exc.strerror})")
                )
                continue
            try:
                digest = content_hash(raw)
                previous = known.get(digest) if known else None
                if previous is not None:
                    article = dataclasses.replace(previous, path=str(path), file_stamp=stamp)
                else:
                    parsed = parse_article(path, raw, digest)
                    article = dataclasses.replace(parsed, file_stamp=stamp)
            except ArticleError as exc:
                problems.append(ArticleProblem(str(path), str(exc)))
                continue
        if article.id in seen:
            problems.append(
                ArticleProblem(
                    name, f"{name}: duplicate id {article.id!r} (also in {seen[article.id]})"
                )
            )
            continue
        seen[article.id] = name
        articles.append(article)
    for problem in problems:
        logger.warning("skipped article: %s", problem.message)
    return articles, problems
