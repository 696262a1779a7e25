"""NLU benchmark: the project's pipeline and alternatives on Banking77 and CLINC150.

    python -m bench.nlu_benchmark                       # config.yml's NLU part + Rasa's default
    python -m bench.nlu_benchmark --dataset banking77 --config bench/configs/project_candidate.yml
    python -m bench.nlu_benchmark --alt bench/configs/sparse_linear.yml --no-default-alt
    python -m bench.nlu_benchmark --report-only         # rebuild the report from saved results

Each (dataset, pipeline) is trained with rasa.model_training.train_nlu in a subprocess (Rasa's
training cache off, so the time is a real training time), then the official test split is
predicted in batches. Results are kept in var/bench/nlu/<dataset>/<pipeline>/result.json; the
report (reports/nlu_benchmark.md, confusion heatmaps reports/nlu_confusion_<dataset>.png) is
rebuilt from every saved result, so datasets can be run one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.nlu_data import DEFAULT_DATASETS, ROOT, load_dataset, write_training_data
from bench.nlu_metrics import (
    fallback_rate,
    final_labels,
    plot_confusion,
    score,
    thresholded_labels,
    top_labels,
)

RESULTS = ROOT / "var" / "bench" / "nlu"
REPORT = ROOT / "reports" / "nlu_benchmark.md"
DEFAULT_ALT = ROOT / "bench" / "configs" / "rasa_default_sparse.yml"
DATASETS = ("banking77", "clinc150")
SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
_DROPPED = {"ResponseSelector"}  # the benchmark data has no retrieval intents


class BenchConfigError(ValueError):
    """A pipeline configuration file cannot be used for the benchmark."""


def nlu_config(path: Path) -> dict[str, Any]:
    """The NLU part of a Rasa config file (recipe, language, pipeline without ResponseSelector)."""
    if not path.is_file():
        raise BenchConfigError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), list):
        raise BenchConfigError(f"{path}: no 'pipeline' list")
    pipeline = [
        step for step in data["pipeline"]
        if isinstance(step, dict) and step.get("name") not in _DROPPED
    ]
    if not pipeline:
        raise BenchConfigError(f"{path}: the pipeline is empty")
    return {
        "recipe": data.get("recipe", "default.v1"),
        "language": data.get("language", "en"),
        "assistant_id": "nlu-benchmark",
        "pipeline": pipeline,
    }


def fallback_thresholds(config: dict[str, Any]) -> tuple[float, float] | None:
    for step in config["pipeline"]:
        if step.get("name") == "FallbackClassifier":
            return float(step.get("threshold", 0.3)), float(step.get("ambiguity_threshold", 0.1))
    return None


def run_one(dataset_name: str, label: str, config_path: Path, datasets_dir: Path) -> Path:
    dataset = load_dataset(dataset_name, datasets_dir)
    work = RESULTS / dataset_name / label
    work.mkdir(parents=True, exist_ok=True)
    config = nlu_config(config_path)
    (work / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    data = write_training_data(dataset, RESULTS / dataset_name)
    tests = work / "tests.json"
    tests.write_text(json.dumps([e.text for e in dataset.test]), encoding="utf-8")
    out = work / "predictions.json"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "RASA_MAX_CACHE_SIZE": "0",
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable, "-m", "bench.nlu_run", "--config", str(work / "config.yml"),
        "--data", str(data), "--tests", str(tests), "--out", str(out),
        "--model-dir", str(work / "model"),
    ]
    print(f"== {dataset_name} / {label}: training {len(dataset.train)} examples", flush=True)
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True)
    raw = json.loads(out.read_text(encoding="utf-8"))
    result = {
        "dataset": dataset_name,
        "pipeline": label,
        "config_file": str(config_path.relative_to(ROOT) if config_path.is_relative_to(ROOT)
                           else config_path),
        "fallback": fallback_thresholds(config),
        "has_oos": dataset.has_out_of_scope,
        "train_examples": len(dataset.train),
        "gold": [e.label for e in dataset.test],
        "train_seconds": raw["train_seconds"],
        "predict_seconds": raw["predict_seconds"],
        "wall_seconds": time.perf_counter() - started,
        "predictions": raw["predictions"],
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    path = work / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def build_report() -> str:
    results = [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(RESULTS.glob("*/*/result.json"))
    ]
    lines = [
        "# NLU benchmark: Banking77 and CLINC150",
        "",
        "Command: `make bench-nlu` (`python -m bench.nlu_benchmark`, see its --help). "
        f"Machine: {os.cpu_count()} CPU cores shared with other jobs, "
        f"{platform.python_implementation()} {platform.python_version()}, Rasa 3.6.",
        "Training time is the wall time of `rasa.model_training.train_nlu` (Rasa's training "
        "cache off; the sentence-embedding feature cache in var/cache/nlu may be warm).",
        "CLINC150: trained on the 150 in-scope intents only; an out-of-scope query counts as "
        "detected when the pipeline's FallbackClassifier fires (`nlu_fallback`). Accuracy and "
        "macro-F1 for CLINC150 are over all 5,500 test queries with out-of-scope as a 151st label.",
        "Banking77 has no out-of-scope queries: its accuracy and macro-F1 are of the classifier's "
        "top intent; the fallback rate column says how often FallbackClassifier would have fired.",
        "",
        "| dataset | pipeline | config | accuracy | macro-F1 | in-scope acc. | OOS recall "
        "| fallback threshold | fallback rate | train time (s) | predict time (s) | finished |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sweeps: list[str] = []
    for r in results:
        gold = r["gold"]
        labels_of = final_labels if r["has_oos"] else top_labels
        predicted = labels_of(r["predictions"])
        s = score(gold, predicted, has_oos=r["has_oos"])
        fallback = r["fallback"]
        lines.append(
            f"| {r['dataset']} | {r['pipeline']} | `{r['config_file']}` | {_fmt(s.accuracy)} "
            f"| {_fmt(s.macro_f1)} | {_fmt(s.in_scope_accuracy)} | {_fmt(s.oos_recall)} "
            f"| {fallback[0] if fallback else '-'} | {fallback_rate(r['predictions']):.3f} "
            f"| {r['train_seconds']:.0f} "
            f"| {r['predict_seconds']:.0f} | {r['finished']} |"
        )
        if r["has_oos"]:
            ambiguity = fallback[1] if fallback else 0.0
            sweeps += [
                "",
                f"Threshold sweep, {r['dataset']} / {r['pipeline']} "
                f"(ambiguity_threshold {ambiguity}, for information):",
                "",
                "| threshold | in-scope acc. | OOS recall | accuracy | macro-F1 |",
                "|---|---|---|---|---|",
            ]
            for threshold in SWEEP:
                t = score(
                    gold,
                    thresholded_labels(r["predictions"], threshold, ambiguity),
                    has_oos=True,
                )
                sweeps.append(
                    f"| {threshold} | {_fmt(t.in_scope_accuracy)} | {_fmt(t.oos_recall)} "
                    f"| {_fmt(t.accuracy)} | {_fmt(t.macro_f1)} |"
                )
        plot = ROOT / "reports" / f"nlu_confusion_{r['dataset']}_{r['pipeline']}.png"
        plot_confusion(gold, predicted, f"{r['dataset']} / {r['pipeline']}", plot)
    if not results:
        lines.append("| (no results yet) |  |  |  |  |  |  |  |  |  |  |  |")
    lines += sweeps
    lines += [
        "",
        "Confusion heatmaps (most-confused classes): "
        + ", ".join(
            f"[{r['dataset']} / {r['pipeline']}](nlu_confusion_{r['dataset']}_{r['pipeline']}.png)"
            for r in results
        ),
        "",
        "Published references (../shared/datasets/README.md): Banking77 93.4 % (USE+ConveRT), "
        "about 94-95 % best reported; CLINC150 in-scope about 97 % (BERT-class), out-of-scope "
        "recall 40-75 %.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--dataset", choices=(*DATASETS, "all"), default="all")
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml",
                        help="the project's pipeline (default: config.yml's NLU part)")
    parser.add_argument("--label", default=None, help="name of the project pipeline in the report")
    parser.add_argument("--alt", type=Path, action="append", default=[],
                        help="an alternative pipeline config (repeatable)")
    parser.add_argument("--no-default-alt", action="store_true",
                        help="skip bench/configs/rasa_default_sparse.yml",
    )
    parser.add_argument("--no-project", action="store_true", help="run only the alternatives")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)

    if not args.report_only:
        pipelines: list[tuple[str, Path]] = []
        if not args.no_project:
            default_label = "project" if args.config.name == "config.yml" else args.config.stem
            label = args.label or default_label
            pipelines.append((label, args.config))
        alternatives = list(args.alt) + ([] if args.no_default_alt else [DEFAULT_ALT])
        pipelines += [(path.stem, path) for path in alternatives]
        datasets = DATASETS if args.dataset == "all" else (args.dataset,)
        for dataset in datasets:
            for label, config in pipelines:
                run_one(dataset, label, config.resolve(), args.datasets_dir)
                REPORT.parent.mkdir(parents=True, exist_ok=True)
                REPORT.write_text(build_report(), encoding="utf-8")
    report = build_report()
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
