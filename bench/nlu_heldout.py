"""The project's own held-out NLU examples: compare pipelines on data/nlu -> nlu_heldout.yml.

    python -m bench.nlu_heldout --config config.yml --config bench/configs/project_candidate.yml

Trains the NLU part of each config (ResponseSelector included) on data/nlu with
rasa.model_training.train_nlu and scores tests/dialogue/nlu_heldout.yml the way
tests/dialogue/test_nlu_heldout.py does (each FAQ topic a label). Writes
reports/nlu_heldout_pipelines.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import f1_score

from bench.nlu_data import ROOT

HELDOUT = ROOT / "tests" / "dialogue" / "nlu_heldout.yml"
REPORT = ROOT / "reports" / "nlu_heldout_pipelines.md"


def _label(parse: dict[str, Any]) -> str:
    intent = str((parse.get("intent") or {}).get("name"))
    if intent == "faq":
        selected = (parse.get("response_selector") or {}).get("faq", {})
        key = (selected.get("response") or {}).get("intent_response_key")
        return str(key) if key else "faq"
    return intent


async def _evaluate(config: Path, work: Path) -> tuple[float, float, float]:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.loading import load_data

    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    nlu_only = {k: data[k] for k in ("recipe", "language", "pipeline") if k in data}
    nlu_only["assistant_id"] = "nlu-heldout-bench"
    config_file = work / "config.yml"
    config_file.write_text(yaml.safe_dump(nlu_only, sort_keys=False), encoding="utf-8")
    started = time.perf_counter()
    model = train_nlu(str(config_file), str(ROOT / "data" / "nlu"), str(work / "models"))
    seconds = time.perf_counter() - started
    if not model:
        raise SystemExit(f"training failed for {config}")
    agent = Agent.load(model)
    examples = load_data(str(HELDOUT)).intent_examples
    gold = [str(m.get("intent_response_key") or m.get("intent")) for m in examples]
    predicted = [_label(await agent.parse_message(str(m.get("text")))) for m in examples]
    macro = float(f1_score(gold, predicted, labels=sorted(set(gold)), average="macro",
                           zero_division=0))
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    return macro, accuracy, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RASA_MAX_CACHE_SIZE", "0")
    configs = " ".join(f"--config {c}" for c in args.config)
    lines = [
        "# Project NLU pipelines on the held-out examples",
        "",
        f"Command: `python -m bench.nlu_heldout {configs}`"
        f" ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). Trained on data/nlu, scored "
        "on tests/dialogue/nlu_heldout.yml (each FAQ topic a label).",
        "",
        "| config | macro-F1 | accuracy | NLU train time (s) |",
        "|---|---|---|---|",
    ]
    for config in args.config:
        with tempfile.TemporaryDirectory(prefix="nlu-heldout-") as tmp:
            macro, accuracy, seconds = asyncio.run(_evaluate(config, Path(tmp)))
        lines.append(f"| `{config}` | {macro:.3f} | {accuracy:.3f} | {seconds:.0f} |")
    report = "\n".join(lines) + "\n"
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
