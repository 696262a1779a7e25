"""Settings of the knowledge index, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb_index.embedder import Embedder, get_embedder, resolve_model
from kb_index.errors import KnowledgeError
from nordvik.e5 import MODEL_ID
from nordvik.env import (
    REPO_ROOT,
    SettingsError,
    env_float,
    env_int,
    env_path,
    env_state_path,
    env_str,
    state_dir,
)

ARTICLE_URL = "https://help.nordvik.example/articles/{id}"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def english_model_setting(value: str, model: str) -> str:
    """``KB_ENGLISH_MODEL``: unset means the packaged MiniLM beside the default e5 (it ranks
    English better: reports/kb_variants.md) and nothing beside any other main model; ``none``
    turns it off; anything else is a model as ``KB_MODEL`` takes it."""
    value = value.strip()
    if value.lower() == "none":
        return ""
    if not value:
        return resolve_model("minilm") if model == MODEL_ID else ""
    return resolve_model(value)


@dataclass(frozen=True)
class KbSettings:
    """Where articles and index versions live, which model embeds them, how passages are cut."""

    source: Path = REPO_ROOT / "knowledge" / "articles"
    kb_dir: Path = field(default_factory=lambda: state_dir() / "kb")
    model: str = ""  # a model id (resolve_model): "" = the default, multilingual-e5-small
    # a second dense model for English passages and queries ("" = none; see english_dense_model)
    english_model: str = ""
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
    # threads one search may use: the calling one, plus helpers that score BM25 while it
    # embeds the query and scan part of a large Flat index (kb_index/dense.py, ExactSearch)
    search_threads: int = 2
    build_threads: int = 2
    embed_precision: str = "float32"
    host: str = "127.0.0.1"
    token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KbSettings:
        try:
            model = resolve_model(env_str(env, "KB_MODEL"))
            return cls(
                source=env_path(env, "KB_SOURCE"),
                kb_dir=env_state_path(env, "KB_DIR"),
                model=model,
                english_model=english_model_setting(env_str(env, "KB_ENGLISH_MODEL"), model),
                index_factory=env_str(env, "KB_INDEX_FACTORY"),
                url=env_str(env, "KB_URL"),
                min_score=env_float(env, "KB_MIN_SCORE"),
                passage_chars=env_int(env, "KB_PASSAGE_CHARS", low=50),
                passage_overlap=env_int(env, "KB_PASSAGE_OVERLAP", low=0),
                keep_versions=env_int(env, "KB_KEEP_VERSIONS", low=1),
                stale_penalty=env_float(env, "KB_STALE_PENALTY"),
                max_query_bytes=env_int(env, "KB_MAX_QUERY_BYTES", low=1),
                max_k=env_int(env, "KB_MAX_K", low=1),
                reload_interval=env_float(env, "KB_RELOAD_INTERVAL"),
                embed_batch=env_int(env, "KB_EMBED_BATCH", low=1),
                query_threads=env_int(env, "KB_QUERY_THREADS", low=1),
                search_threads=env_int(env, "KB_SEARCH_THREADS", low=1),
                build_threads=env_int(env, "KB_BUILD_THREADS", low=1),
                embed_precision=env_str(env, "KB_EMBED_PRECISION"),
                host=env_str(env, "KB_HOST"),
                token=env_str(env, "KB_TOKEN"),
            )
        except SettingsError as exc:
            raise KnowledgeError(str(exc)) from exc

    @property
    def english_dense_model(self) -> str:
        """The second dense model English queries are also ranked by, or "" for none (not
        set, or the same as the main model)."""
        english = resolve_model(self.english_model) if self.english_model else ""
        return english if english and english != resolve_model(self.model) else ""

    def with_model(self) -> KbSettings:
        """The same settings with the default model filled in when none is set."""
        model = resolve_model(self.model)
        return self if model == self.model else replace(self, model=model)

    def embedder(self, model: str | None = None) -> Embedder:
        """The (process-wide, cached) embedder of ``model`` (default: this setting's model)."""
        return get_embedder(
            resolve_model(model or self.model), self.embed_precision, self.build_threads,
            self.query_threads,
        )
