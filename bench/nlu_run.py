"""Train one Rasa NLU pipeline and predict a test set (run as a subprocess by nlu_benchmark).

    python -m bench.nlu_run --config C.yml --data train.yml --tests tests.json --out result.json
        [--validation val.json] [--model-dir DIR]

tests.json (and val.json) is a JSON list of texts. result.json gets the training time and, per
text, the predicted intent, its confidence, the classifier's top two (non-fallback) intents, the
answer a retrieval intent (`faq`) picked, the detected language and the entities.
The trained model stays in --model-dir (bench.nlu_latency parses with it).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

BATCH = 256
FALLBACK_INTENT = "nlu_fallback"


def _train(config: Path, data: Path, out_dir: Path) -> tuple[Path, float]:
    from rasa.model_training import train_nlu  # noqa: PLC0415 - heavy: rasa, TF; not for --help

    started = time.perf_counter()
    model = train_nlu(str(config), str(data), str(out_dir), fixed_model_name="bench")
    seconds = time.perf_counter() - started
    if not model:
        raise SystemExit(f"training failed for {config}")
    return Path(model), seconds


def _load(model: Path) -> Any:
    from rasa.core.agent import Agent  # noqa: PLC0415 - heavy: rasa, TF; not for --help

    processor = Agent.load(str(model)).processor
    if processor is None:
        raise SystemExit(f"model {model} could not be loaded")
    return processor


def _predict(processor: Any, texts: list[str]) -> tuple[list[dict[str, Any]], float]:
    from rasa.core.channels import UserMessage  # noqa: PLC0415 - heavy: rasa; not for --help
    from rasa.engine.constants import (  # noqa: PLC0415 - heavy: rasa; not for --help
        PLACEHOLDER_MESSAGE,
        PLACEHOLDER_TRACKER,
    )
    from rasa.shared.core.trackers import (  # noqa: PLC0415 - heavy: rasa; not for --help
        DialogueStateTracker,
    )

    target = processor.model_metadata.nlu_target
    tracker = DialogueStateTracker("bench", [])
    out: list[dict[str, Any]] = []
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        batch = [UserMessage(text) for text in texts[start : start + BATCH]]
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: batch, PLACEHOLDER_TRACKER: tracker}, targets=[target]
        )
        for message in results[target]:
            intent = message.get("intent") or {}
            ranking = [
                r for r in (message.get("intent_ranking") or []) if r["name"] != FALLBACK_INTENT
            ]
            top: dict[str, Any] = (
                ranking[0] if ranking else {"name": intent.get("name"), "confidence": 0.0}
            )
            second = ranking[1]["confidence"] if len(ranking) > 1 else 0.0
            selected = (message.get("response_selector") or {}).get(top["name"]) or {}
            response = selected.get("response") or {}
            out.append(
                {
                    "intent": intent.get("name"),
                    "confidence": float(intent.get("confidence") or 0.0),
                    "top_intent": top["name"],
                    "top_confidence": float(top["confidence"]),
                    "second_confidence": float(second),
                    "response_key": response.get("intent_response_key"),
                    "response_confidence": response.get("confidence"),
                    "language": message.get("language"),
                    "entities": [
                        [e.get("entity"), e.get("value"), e.get("start"), e.get("end")]
                        for e in message.get("entities") or []
                    ],
                }
            )
    return out, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tests", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--validation", type=Path, default=None)
    parser.add_argument("--model-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    texts = json.loads(args.tests.read_text(encoding="utf-8"))
    model, train_seconds = _train(args.config, args.data, args.model_dir)
    processor = _load(model)
    predictions, predict_seconds = _predict(processor, texts)
    result: dict[str, Any] = {
        "model": str(model),
        "train_seconds": train_seconds,
        "predict_seconds": predict_seconds,
        "predictions": predictions,
    }
    if args.validation is not None:
        validation = json.loads(args.validation.read_text(encoding="utf-8"))
        result["validation_predictions"], _ = _predict(processor, validation)
    args.out.write_text(json.dumps(result), encoding="utf-8")
    print(f"trained in {train_seconds:.1f}s, predicted {len(texts)} in {predict_seconds:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
