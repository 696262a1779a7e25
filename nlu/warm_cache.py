"""Fill the NLU vector cache with the training texts while `rasa train` starts up.

    python -m nlu.warm_cache --config config.yml --data data

A cold training spends its first minute or more on one core (loading Rasa, validating the data,
the rules, the tokenizer and the n-gram counts) before SentenceEmbeddingFeaturizer encodes the
training texts. scripts/train.py runs this beside `rasa train`: it reads the same NLU files as
Rasa does and encodes their texts with the configured encoder into the same disk cache
(nlu.embeddings), so the encoding overlaps that first minute. It reads neither the domain nor the
stories, which cost a loaded 2-core machine some 15 s to parse and add only the retrieval
answers' texts (a handful, which the featurizer encodes itself). While it runs, the trainer holds
`nlu.embeddings.warming(cache_dir)`; the featurizer waits for it (`wait_for_warming`) before it
looks in the cache, so no text is encoded twice. Whatever this did not encode (it failed, or
the texts differ), the featurizer encodes itself: the model does not depend on it, only the time.
It loads no Rasa component (the featurizer's defaults come from nlu.settings), so it spends its
first seconds encoding rather than importing TensorFlow (16 s on this project's 2-core machine).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.shared.data import get_data_files, is_nlu_file
from rasa.shared.importers.utils import training_data_from_paths
from rasa.shared.utils.io import read_yaml_file

from nlu.embeddings import sentence_encoder
from nlu.settings import FEATURIZER_DEFAULTS, NluSettings, resolve_encoder

logger = logging.getLogger(__name__)

FEATURIZER = "nlu.featurizers.SentenceEmbeddingFeaturizer"


def featurizer_config(config_path: Path) -> dict[str, Any] | None:
    """The pipeline entry of SentenceEmbeddingFeaturizer in config.yml, or None."""
    config = read_yaml_file(str(config_path))
    for component in (config or {}).get("pipeline") or []:
        if isinstance(component, dict) and component.get("name") == FEATURIZER:
            return dict(component)
    return None


def training_texts(data_path: Path) -> list[str]:
    """The NLU examples' texts SentenceEmbeddingFeaturizer encodes when Rasa trains on these
    files, read as Rasa's file importer reads them."""
    files = get_data_files([str(data_path)], is_nlu_file)
    texts: dict[str, None] = {}
    for message in training_data_from_paths(files, language="en").training_examples:
        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            value = message.get(attribute)
            if isinstance(value, str) and value:
                texts[value] = None
    return list(texts)


def warm(config_path: Path, data_path: Path) -> int:
    """Encode the training texts missing from the cache; how many were encoded."""
    component = featurizer_config(config_path)
    settings = NluSettings.from_env()
    if component is None or not settings.cache_enabled:
        return 0
    config = {**FEATURIZER_DEFAULTS, **component}
    if not config.get("cache"):
        return 0
    name = resolve_encoder(config, settings)
    configured = config.get("model_path") or settings.model_path
    encoder = sentence_encoder(
        name,
        model_path=Path(str(configured)) if configured and name == "minilm" else None,
        cache_dir=settings.cache_dir,
        parse_cache_size=settings.parse_cache_size,
        train_threads=settings.train_threads,
        batch_size=int(config["batch_size"]),
    )
    texts = training_texts(data_path)
    assert encoder.cache is not None
    known = encoder.cache.get_many(texts)
    missing = [text for text in texts if text not in known]
    if missing:
        encoder.encode(missing, store=True)
    return len(missing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="warm_cache: %(message)s")
    started = time.monotonic()
    encoded = warm(args.config, args.data)
    print(f"warm_cache: {encoded} training texts encoded into the NLU cache in "
          f"{time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
