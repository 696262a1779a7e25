"""Parse latency of one trained Rasa model, one message at a time (run as a subprocess).

    python -m bench.nlu_latency --model M.tar.gz --texts texts.json --out times.json [--warm-up 20]

Each text goes through `MessageProcessor.parse_message`, the call the Rasa server makes for a
customer's message, on this process's event loop, one after the other. The first --warm-up texts
are parsed before timing starts (lazy loading, first-call costs). times.json gets the wall time
of each timed parse in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any


async def _measure(model: Path, texts: list[str], warm_up: int) -> dict[str, Any]:
    from rasa.core.agent import Agent  # noqa: PLC0415 - heavy: rasa, TF; not for --help
    from rasa.core.channels import UserMessage  # noqa: PLC0415 - heavy: rasa; not for --help

    started = time.perf_counter()
    processor = Agent.load(str(model)).processor
    if processor is None:
        raise SystemExit(f"model {model} could not be loaded")
    load_seconds = time.perf_counter() - started
    for text in texts[:warm_up]:
        await processor.parse_message(UserMessage(text))
    times: list[float] = []
    for text in texts[warm_up:]:
        start = time.perf_counter()
        await processor.parse_message(UserMessage(text))
        times.append((time.perf_counter() - start) * 1000.0)
    return {"load_seconds": load_seconds, "milliseconds": times}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--warm-up", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    logging.basicConfig(level=logging.WARNING)
    texts = json.loads(args.texts.read_text(encoding="utf-8"))
    if not isinstance(texts, list) or len(texts) <= args.warm_up:
        raise SystemExit(f"{args.texts}: need a JSON list of more than {args.warm_up} texts")
    result = asyncio.run(_measure(args.model, [str(t) for t in texts], args.warm_up))
    args.out.write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
