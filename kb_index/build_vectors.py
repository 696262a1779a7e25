"""What a build computes from articles: passage rows with their terms, the models' vectors of
the passages and titles, and how alike the model finds unrelated passages (chance)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from kb_index.embedder import Embedder
from kb_index.lexical import TermCounts
from kb_index.nlp import analyze
from kb_index.passages import passage_document, split_article
from kb_index.segments import SegmentData
from kb_index.settings import KbSettings
from kb_index.types import Article
from kb_index.version_files import TITLES_FILE, read_articles

CHANCE_SAMPLE = 400  # passages per language for the chance-similarity estimate


def passage_rows(article: Article, settings: KbSettings) -> list[dict[str, Any]]:
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


def embed_rows(
    embedder: Embedder, rows: list[dict[str, Any]], settings: KbSettings, progress: bool,
    desc: str = "embedding",
) -> np.ndarray:
    texts = [
        "\n".join((" > ".join(h for h in (r["title"], *r["heading_path"]) if h), r["text"]))
        for r in rows
    ]
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    chunk = max(settings.embed_batch * 4, 1)
    parts = []
    with tqdm(total=len(texts), desc=desc, unit="passage", disable=not progress) as bar:
        for start in range(0, len(texts), chunk):
            batch = texts[start : start + chunk]
            parts.append(embedder.encode(batch, batch_size=settings.embed_batch))
            bar.update(len(batch))
    return np.vstack(parts).astype(np.float32)


def embed_english(
    embedder: Embedder | None, rows: list[dict[str, Any]], settings: KbSettings,
    progress: bool = False,
) -> np.ndarray | None:
    """The English model's vectors of the English passages (float16), zero rows for the
    others; None without an English model."""
    if embedder is None:
        return None
    out = np.zeros((len(rows), embedder.dimension), dtype=np.float16)
    english = [i for i, r in enumerate(rows) if r["language"] == "en"]
    if english:
        vectors = embed_rows(embedder, [rows[i] for i in english], settings, progress,
                             "embedding English")
        out[english] = vectors.astype(np.float16)
    return out


def new_segment_data(
    rows: list[dict[str, Any]], vectors: np.ndarray, english: np.ndarray | None = None
) -> SegmentData:
    """The passages of ``rows`` as one segment (their terms are taken out of the rows)."""
    terms = TermCounts.from_documents([r.pop("terms") for r in rows])
    return SegmentData.from_rows(rows, vectors, terms, english)


def new_passages(
    changed: list[Article], settings: KbSettings, embedder: Embedder,
    english_embedder: Embedder | None, progress: bool,
) -> SegmentData:
    """The passages of the changed articles, split, analysed and embedded: a new segment."""
    rows: list[dict[str, Any]] = []
    for article in tqdm(changed, desc="splitting", unit="article", disable=not progress):
        rows.extend(passage_rows(article, settings))
    vectors = embed_rows(embedder, rows, settings, progress)
    english = embed_english(english_embedder, rows, settings, progress)
    return new_segment_data(rows, vectors, english)


def title_vectors(
    embedder: Embedder, articles: list[Article], settings: KbSettings,
    base: Path | None = None, changed: set[str] | None = None,
) -> np.ndarray:
    """The main model's vectors of the articles' titles, in ``articles`` order (zero rows for
    empty titles); an update takes the unchanged articles' rows from the base version."""
    out = np.zeros((len(articles), embedder.dimension), dtype=np.float32)
    known: dict[str, np.ndarray] = {}
    if base is not None and (base / TITLES_FILE).exists():
        stored = np.load(base / TITLES_FILE)
        order = [a["id"] for a in read_articles(base)]
        if len(order) == len(stored):
            known = {aid: stored[i] for i, aid in enumerate(order)}
    todo = []
    for i, a in enumerate(articles):
        if a.id in known and a.id not in (changed or set()):
            out[i] = known[a.id]
        elif a.title.strip():
            todo.append(i)
    if todo:
        out[todo] = embedder.encode([articles[i].title for i in todo],
                                    batch_size=settings.embed_batch)
    return out


def dense_chance(data: SegmentData, language_of: dict[str, str]) -> dict[str, float]:
    """Per language, the median cosine between passages of different articles: how alike the
    model finds two unrelated passages in that language (measured once per full build)."""
    rng = np.random.default_rng(0)
    langs = np.array([language_of.get(aid, "") for aid in data.article_ids])
    articles = np.array(data.article_ids)
    chance = {}
    for lang in sorted(set(langs.tolist()) - {""}):
        rows = np.flatnonzero(langs == lang)
        if len(rows) > CHANCE_SAMPLE:
            rows = np.sort(rng.choice(rows, CHANCE_SAMPLE, replace=False))
        vectors = np.asarray(data.vectors[rows], dtype=np.float32)
        unrelated = articles[rows][:, None] != articles[rows][None, :]
        if unrelated.sum() < 20:
            continue  # too few articles in this language to tell
        chance[lang] = round(float(np.median((vectors @ vectors.T)[unrelated])), 4)
    return chance
