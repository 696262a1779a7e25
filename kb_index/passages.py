"""Articles cut into passages along headings and sentence boundaries."""

from __future__ import annotations

import hashlib
import re

from kb_index.nlp import split_sentences
from kb_index.types import Article, Passage

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")
_EMPH = re.compile(r"(\*\*|__|`)")
_LIST = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
PASSAGE_BITS = 14
MAX_PASSAGES = 1 << PASSAGE_BITS


def article_key(article_id: str) -> int:
    """A stable 48-bit number per article id; passage ids are ``key << 14 | index``."""
    return int.from_bytes(hashlib.blake2b(article_id.encode(), digest_size=6).digest(), "big")


def passage_id(article_id: str, index: int) -> int:
    if not 0 <= index < MAX_PASSAGES:
        raise ValueError(f"article {article_id}: more than {MAX_PASSAGES} passages")
    return (article_key(article_id) << PASSAGE_BITS) | index


def _clean(line: str) -> str:
    line = _LIST.sub("", line)
    line = _LINK.sub(r"\1", line)
    return _EMPH.sub("", line).strip()


def sections(body: str) -> list[tuple[tuple[str, ...], str]]:
    """(heading path, text) for each run of text under the same headings."""
    path: list[tuple[int, str]] = []
    result: list[tuple[tuple[str, ...], str]] = []
    lines: list[str] = []

    def flush() -> None:
        text = " ".join(part for part in (_clean(x) for x in lines) if part)
        if text:
            result.append((tuple(h for _, h in path), text))
        lines.clear()

    for line in body.splitlines():
        match = _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            path = [(lvl, h) for lvl, h in path if lvl < level]
            path.append((level, _clean(match.group(2))))
        elif line.strip():
            # a blank line or list item ends a sentence-ish unit; keep them apart
            lines.append(line if re.search(r"[.!?。！？:]\s*$", line) else line.rstrip() + ".")
        else:
            continue
    flush()
    return result


def split_article(article: Article, max_chars: int = 700, overlap: int = 1) -> list[Passage]:
    """Passages of at most about ``max_chars`` characters; ``overlap`` sentences are repeated
    at the start of the next passage of the same section."""
    passages: list[Passage] = []
    for heading_path, text in sections(article.body):
        sentences = split_sentences(text, article.language)
        start = 0
        while start < len(sentences):
            end = start
            size = 0
            while end < len(sentences) and (
                end == start or size + len(sentences[end]) <= max_chars
            ):
                size += len(sentences[end]) + 1
                end += 1
            chunk = " ".join(sentences[start:end])
            passages.append(
                Passage(
                    id=passage_id(article.id, len(passages)),
                    article_id=article.id,
                    title=article.title,
                    heading_path=heading_path,
                    text=chunk,
                    language=article.language,
                    audience=article.audience,
                    tags=article.tags,
                )
            )
            if end >= len(sentences):
                break
            start = max(end - overlap, start + 1)
    return passages


def passage_document(passage: Passage) -> str:
    """What gets embedded and indexed: title, heading path and text."""
    head = " > ".join(h for h in (passage.title, *passage.heading_path) if h)
    return f"{head}\n{passage.text}"
