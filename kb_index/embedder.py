"""Sentence embedders: sentence-transformers models (default) and a hashing embedder for tests."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from kb_index.errors import KnowledgeError

logger = logging.getLogger(__name__)

HASHING_PREFIX = "hashing"


class Embedder(Protocol):
    name: str

    @property
    def dimension(self) -> int: ...

    def encode(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray: ...


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
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

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


    def _encode_one(self, text: str) -> np.ndarray:
        """One text (a query) straight through the model's modules: encode() spends a few
        milliseconds per call on set-up (moving the model to its device, switching it to eval
        mode) that a single query does not need. On a CPU with native bfloat16 arithmetic the
        float32 model runs under bfloat16 autocast: about a quarter faster, and the vector
        agrees with float32 to a cosine of 0.9999 (tested), so queries still match passages
        embedded in float32."""
        import torch

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
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(
            model.eval(), {torch.nn.Linear}, dtype=torch.qint8
        )


def limit_query_threads(threads: int) -> None:
    """Single queries gain nothing from thread pools on a busy machine: cap torch and FAISS."""
    import faiss
    import torch

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)


@lru_cache(maxsize=4)
def get_embedder(model: str, precision: str = "float32") -> Embedder:
    """The embedder for a model setting (cached: one model instance per process and precision;
    the hashing test embedder has no precision)."""
    if model == HASHING_PREFIX or model.startswith(HASHING_PREFIX + "-"):
        suffix = model[len(HASHING_PREFIX) + 1 :]
        return HashingEmbedder(int(suffix) if suffix.isdigit() else 256)
    return SentenceTransformerEmbedder(model, precision)
