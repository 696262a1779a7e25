"""`make bench-nlu`: the old and the new NLU pipeline, measured in the same run on this machine.

    python -m bench.nlu_benchmark                         # everything (takes about an hour)
    python -m bench.nlu_benchmark --steps project,latency # training time and parse latency only
    python -m bench.nlu_benchmark --steps banking77 --pipelines new
    python -m bench.nlu_benchmark --report-only           # rebuild the reports from saved results

Pipelines:
- `old`: config.yml and nlu/ exactly as they were at commit f19058d (taken with `git archive`
  into var/bench/nlu/old-f19058d/src and put first on PYTHONPATH): MiniLM + sparse features,
  the linear classifier, TF ResponseSelector, FAQ topic gate, language gate.
- `new`: config.yml and nlu/ of the working tree.

Steps:
- `project`: train each pipeline's NLU on its own project data with an empty sentence-vector
  cache (cold: every training text encoded), and the new one again with the cache it filled
  (warm). `new` trains on the working tree's data/nlu (four languages); `old` on data/nlu at
  f19058d (English only, as it was deployed): its TF ResponseSelector on today's 8,700 examples
  takes about an hour, and the latency step needs the model, not the data. Then `rasa train` of
  the whole project model (NLU + dialogue, `domain/`, `data/`) from an empty cache, as a fresh
  machine trains it. Rasa's own training cache is off.
- `latency`: the warm models parse the held-out messages (heldout/nlu, four languages, used here
  only as realistic inputs) one at a time through MessageProcessor.parse_message, the Rasa
  server's call, in subprocesses that alternate old/new over two rounds: p50, p95, p99.
- `banking77`, `clinc150`, `clinc150_oos`: train on the dataset's training split and predict its
  test split (and CLINC's validation split). A fallback threshold for CLINC is chosen on the
  validation split only: the swept threshold with the best mean of in-scope accuracy and
  out-of-scope recall there. `clinc150_oos` also trains CLINC's own 100 `oos_train` queries as an
  out-of-scope intent. Only the NLU config's pipeline is used; ResponseSelector is dropped for
  these data sets (they have no retrieval intents).

Results: var/bench/nlu/; reports: reports/nlu_benchmark.md (accuracy, training time) and
reports/nlu_latency.md (parse latency, training time on the project's data).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
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
from bench.nlu_project import load_examples

RESULTS = ROOT / "var" / "bench" / "nlu"
REPORT = ROOT / "reports" / "nlu_benchmark.md"
LATENCY_REPORT = ROOT / "reports" / "nlu_latency.md"
OLD_COMMIT = "f19058d"
PIPELINES = ("old", "new")
DATASETS = ("banking77", "clinc150", "clinc150_oos")
STEPS = ("project", "latency", *DATASETS)
SWEEP = tuple(round(t, 2) for t in np.arange(0.05, 0.96, 0.05))
ROUNDS = 2
_DROPPED = {"ResponseSelector"}  # the benchmark data sets have no retrieval intents


class BenchConfigError(ValueError):
    """A pipeline configuration file cannot be used for the benchmark."""


def nlu_config(path: Path, *, keep_response_selector: bool = False) -> dict[str, Any]:
    """The NLU part of a Rasa config file (recipe, language, pipeline)."""
    if not path.is_file():
        raise BenchConfigError(f"config file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), list):
        raise BenchConfigError(f"{path}: no 'pipeline' list")
    pipeline = [
        step for step in data["pipeline"]
        if isinstance(step, dict)
        and (keep_response_selector or step.get("name") not in _DROPPED)
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


def old_source() -> Path:
    """nlu/ and config.yml as they were at OLD_COMMIT, unpacked under var/bench/nlu."""
    target = RESULTS / f"old-{OLD_COMMIT}" / "src"
    marker = target / ".complete"
    if marker.is_file() and (target / "data" / "nlu").is_dir():
        return target
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "--format=tar", OLD_COMMIT, "nlu", "config.yml", "data/nlu"],
        cwd=ROOT, capture_output=True, check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    marker.write_text(OLD_COMMIT, encoding="utf-8")
    return target


def pipeline_env(pipeline: str, cache_dir: Path) -> dict[str, str]:
    paths = [str(old_source()), str(ROOT)] if pipeline == "old" else [str(ROOT)]
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "RASA_MAX_CACHE_SIZE": "0",
        "PYTHONPATH": os.pathsep.join(paths),
        "NLU_CACHE_DIR": str(cache_dir),
    }
    env.pop("NLU_ENCODER", None)
    return env


def pipeline_cwd(pipeline: str) -> Path:
    """Where the subprocess starts: `python -m` puts its working directory first on sys.path,
    so the old pipeline starts in its unpacked source to import the old `nlu` package."""
    return old_source() if pipeline == "old" else ROOT


def pipeline_config_file(pipeline: str) -> Path:
    return old_source() / "config.yml" if pipeline == "old" else ROOT / "config.yml"


def _run_nlu(pipeline: str, config: dict[str, Any], data: Path, tests: list[str], work: Path,
             cache_dir: Path, validation: list[str] | None = None) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (work / "tests.json").write_text(json.dumps(tests, ensure_ascii=False), encoding="utf-8")
    command = [
        sys.executable, "-m", "bench.nlu_run", "--config", str(work / "config.yml"),
        "--data", str(data), "--tests", str(work / "tests.json"),
        "--out", str(work / "predictions.json"), "--model-dir", str(work / "model"),
    ]
    if validation is not None:
        (work / "validation.json").write_text(json.dumps(validation, ensure_ascii=False),
                                              encoding="utf-8")
        command += ["--validation", str(work / "validation.json")]
    started = time.perf_counter()
    subprocess.run(command, cwd=pipeline_cwd(pipeline), env=pipeline_env(pipeline, cache_dir),
                   check=True)
    raw: dict[str, Any] = json.loads((work / "predictions.json").read_text(encoding="utf-8"))
    raw["wall_seconds"] = time.perf_counter() - started
    return raw


# --- project data: training time, models for the latency step ---------------------------------

def run_project(pipeline: str) -> Path:
    work = RESULTS / "project" / pipeline
    config = nlu_config(pipeline_config_file(pipeline), keep_response_selector=True)
    cache = work / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    seconds: dict[str, float] = {}
    model = ""
    # The old pipeline's training time is mostly its TF ResponseSelector, which a warm vector
    # cache does not shorten: it is trained once (cold).
    kinds = ("cold", "warm") if pipeline == "new" else ("cold",)
    for kind in kinds:
        print(f"== project / {pipeline}: training on data/nlu ({kind} sentence-vector cache)",
              flush=True)
        load = os.getloadavg()[0]
        data = (old_source() if pipeline == "old" else ROOT) / "data" / "nlu"
        raw = _run_nlu(pipeline, config, data, ["hello"], work / kind, cache)
        seconds[kind] = float(raw["train_seconds"])
        seconds[f"{kind}_load"] = load
        seconds[f"{kind}_examples"] = _count_examples(data)
        model = str(raw["model"])
    if pipeline == "new":
        seconds["full"], seconds["full_load"] = _train_project_model(work / "full")
    result = {"pipeline": pipeline, "train_seconds": seconds, "model": model,
              "cache": str(cache), "finished": _now()}
    path = work / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def _count_examples(data: Path) -> int:
    if (data / "en").is_dir():
        return len(load_examples(data))
    from rasa.shared.nlu.training_data.loading import load_data  # noqa: PLC0415 - rasa (2 s); only non-project data needs it

    return len(load_data(str(data)).intent_examples)


def _train_project_model(work: Path) -> tuple[float, float]:
    """`rasa train` of the project's model (domain/, data/, config.yml) into `work`, with an
    empty sentence-vector cache: the wall time and the load average at the start."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {**pipeline_env("new", work / "cache"), "TF_CPP_MIN_LOG_LEVEL": "2"}
    print("== project / new: `rasa train` of the whole model, empty sentence-vector cache",
          flush=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "train", "--domain", "domain", "--data",
         "data", "--config", "config.yml", "--out", str(work / "models"), "--force"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started, load


# --- latency ---------------------------------------------------------------------------------

def latency_texts() -> list[str]:
    texts = [e.text for e in load_examples(ROOT / "heldout" / "nlu")]
    random.Random(7).shuffle(texts)
    return texts


def run_latency(pipelines: Sequence[str]) -> Path:
    work = RESULTS / "latency"
    work.mkdir(parents=True, exist_ok=True)
    texts = latency_texts()
    (work / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    projects = {}
    for pipeline in pipelines:
        project = RESULTS / "project" / pipeline / "result.json"
        if not project.is_file():
            raise SystemExit(f"no trained {pipeline} model: run the `project` step first")
        projects[pipeline] = json.loads(project.read_text(encoding="utf-8"))
    times: dict[str, list[float]] = {p: [] for p in pipelines}
    loads: list[float] = []
    for round_number in range(ROUNDS):
        order = list(pipelines) if round_number % 2 == 0 else list(reversed(pipelines))
        for pipeline in order:
            print(f"== latency round {round_number + 1}/{ROUNDS}: {pipeline}, {len(texts)} "
                  "messages one at a time", flush=True)
            out = work / f"{pipeline}-{round_number}.json"
            loads.append(os.getloadavg()[0])
            subprocess.run(
                [sys.executable, "-m", "bench.nlu_latency", "--model",
                 projects[pipeline]["model"], "--texts", str(work / "texts.json"),
                 "--out", str(out)],
                cwd=pipeline_cwd(pipeline),
                env=pipeline_env(pipeline, Path(projects[pipeline]["cache"])),
                check=True,
            )
            times[pipeline] += json.loads(out.read_text(encoding="utf-8"))["milliseconds"]
            loads.append(os.getloadavg()[0])
    result = {"times": times, "messages": len(texts), "rounds": ROUNDS, "finished": _now(),
              "load_average": [min(loads), max(loads)]}
    path = work / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


# --- public data sets ----------------------------------------------------------------------------

def run_dataset(dataset_name: str, pipeline: str, datasets_dir: Path) -> Path:
    dataset = load_dataset(dataset_name, datasets_dir)
    work = RESULTS / dataset_name / pipeline
    config = nlu_config(pipeline_config_file(pipeline))
    data = write_training_data(dataset, RESULTS / dataset_name)
    print(f"== {dataset_name} / {pipeline}: training {len(dataset.train)} examples", flush=True)
    load = os.getloadavg()[0]
    raw = _run_nlu(
        pipeline, config, data, [e.text for e in dataset.test], work, RESULTS / "cache",
        validation=[e.text for e in dataset.validation] if dataset.validation else None,
    )
    result = {
        "dataset": dataset_name,
        "pipeline": pipeline,
        "fallback": fallback_thresholds(config),
        "has_oos": dataset.has_out_of_scope,
        "train_examples": len(dataset.train),
        "gold": [e.label for e in dataset.test],
        "validation_gold": [e.label for e in dataset.validation],
        "train_seconds": raw["train_seconds"],
        "predict_seconds": raw["predict_seconds"],
        "wall_seconds": raw["wall_seconds"],
        "predictions": raw["predictions"],
        "validation_predictions": raw.get("validation_predictions", []),
        "load_average": load,
        "finished": _now(),
    }
    path = work / "result.json"
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


OOS_RECALL_TARGET = 0.80  # issue 10: CLINC150 out-of-scope recall at the reported threshold


def choose_threshold(gold: Sequence[str], predictions: Sequence[dict[str, Any]],
                     ambiguity: float) -> float:
    """The swept threshold with the best mean of in-scope accuracy and OOS recall."""
    def balanced(threshold: float) -> float:
        s = score(gold, thresholded_labels(predictions, threshold, ambiguity), has_oos=True)
        return ((s.in_scope_accuracy or 0.0) + (s.oos_recall or 0.0)) / 2

    return max(SWEEP, key=balanced)


def threshold_for_recall(gold: Sequence[str], predictions: Sequence[dict[str, Any]],
                         ambiguity: float, recall: float = OOS_RECALL_TARGET) -> float:
    """The lowest swept threshold (so the best in-scope accuracy) whose OOS recall on these
    predictions is at least `recall`; the highest swept threshold if none reaches it."""
    for threshold in SWEEP:
        s = score(gold, thresholded_labels(predictions, threshold, ambiguity), has_oos=True)
        if (s.oos_recall or 0.0) >= recall:
            return threshold
    return SWEEP[-1]


# --- reports -----------------------------------------------------------------------------------

def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _machine() -> str:
    return (f"{os.cpu_count()} CPU cores shared with other engineers' jobs, "
            f"{platform.python_implementation()} {platform.python_version()}, Rasa 3.6")


def build_report() -> str:
    results = [json.loads(p.read_text(encoding="utf-8"))
               for name in DATASETS for p in sorted((RESULTS / name).glob("*/result.json"))]
    lines = [
        "# NLU benchmark: Banking77 and CLINC150, old and new pipeline",
        "",
        f"Command: `make bench-nlu` (`python -m bench.nlu_benchmark`, see its --help). Machine: "
        f"{_machine()}. The `old` pipeline is config.yml and nlu/ at commit {OLD_COMMIT} (MiniLM,"
        " linear classifier, ResponseSelector, gates); `new` is the working tree's (e5 + "
        "character n-grams, linear classifier with the FAQ folded in). Both run in the same "
        "`make bench-nlu`. Training time is the wall time of `rasa.model_training.train_nlu` "
        "(Rasa's training cache off; sentence vectors of training texts may come from the cache "
        "in var/bench/nlu/cache).",
        "",
        "- Banking77 has no out-of-scope queries: accuracy and macro-F1 of the classifier's top "
        "intent; the fallback rate says how often FallbackClassifier fired.",
        "- CLINC150: accuracy and macro-F1 over all 5,500 test queries with out-of-scope as a "
        "151st label; an out-of-scope query is detected when FallbackClassifier fires or the "
        "model predicts the trained out-of-scope intent (`clinc150_oos` only, trained on CLINC's "
        "own 100 `oos_train` queries). Thresholds are chosen on CLINC's validation split (3,000 "
        "in-scope + 100 out-of-scope queries), never on the test split, by two rules fixed "
        "before any test figure was seen: \"OOS recall >= 0.8\" (the reported one, after "
        "issue 10's target) is the lowest swept threshold whose validation out-of-scope recall "
        "is at least 0.80; \"balanced\" (for information) has the best mean of in-scope "
        "accuracy and out-of-scope recall there. \"config\" is config.yml's own threshold.",
        "",
        "| dataset | pipeline | threshold | accuracy | macro-F1 | in-scope acc. | OOS recall "
        "| fallback rate | train time (s) | predict time (s) | load avg | finished |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sweeps: list[str] = []
    for r in results:
        gold = r["gold"]
        fallback = r["fallback"]
        rows: list[tuple[str, list[str]]] = []
        if r["has_oos"]:
            ambiguity = fallback[1] if fallback else 0.0
            rows.append((f"config {fallback[0] if fallback else '-'}",
                         final_labels(r["predictions"])))
            if r.get("validation_predictions"):
                for rule, choose in (("val, OOS recall >= 0.8", threshold_for_recall),
                                     ("val, balanced", choose_threshold)):
                    chosen = choose(r["validation_gold"], r["validation_predictions"],
                                    ambiguity)
                    rows.append((f"{chosen} ({rule})",
                                 thresholded_labels(r["predictions"], chosen, ambiguity)))
        else:
            rows.append(("(top intent)", top_labels(r["predictions"])))
        for name, predicted in rows:
            s = score(gold, predicted, has_oos=r["has_oos"])
            lines.append(
                f"| {r['dataset']} | {r['pipeline']} | {name} | {_fmt(s.accuracy)} "
                f"| {_fmt(s.macro_f1)} | {_fmt(s.in_scope_accuracy)} | {_fmt(s.oos_recall)} "
                f"| {fallback_rate(r['predictions']):.3f} | {r['train_seconds']:.0f} "
                f"| {r['predict_seconds']:.0f} | {r.get('load_average', 0):.1f} "
                f"| {r['finished']} |"
            )
        if r["has_oos"]:
            ambiguity = fallback[1] if fallback else 0.0
            sweeps += [
                "",
                f"Threshold sweep on the test split, {r['dataset']} / {r['pipeline']} "
                f"(ambiguity_threshold {ambiguity}; for information, not for choosing):",
                "",
                "| threshold | in-scope acc. | OOS recall | accuracy | val in-scope | val OOS |",
                "|---|---|---|---|---|---|",
            ]
            for threshold in SWEEP[1::2]:
                t = score(gold, thresholded_labels(r["predictions"], threshold, ambiguity),
                          has_oos=True)
                v = (score(r["validation_gold"],
                           thresholded_labels(r["validation_predictions"], threshold, ambiguity),
                           has_oos=True) if r.get("validation_predictions") else None)
                sweeps.append(
                    f"| {threshold} | {_fmt(t.in_scope_accuracy)} | {_fmt(t.oos_recall)} "
                    f"| {_fmt(t.accuracy)} | {_fmt(v.in_scope_accuracy if v else None)} "
                    f"| {_fmt(v.oos_recall if v else None)} |"
                )
        plot = ROOT / "reports" / f"nlu_confusion_{r['dataset']}_{r['pipeline']}.png"
        plot_confusion(gold, top_labels(r["predictions"]), f"{r['dataset']} / {r['pipeline']}",
                       plot)
    if not results:
        lines.append("| (no results yet) |  |  |  |  |  |  |  |  |  |  |  |")
    lines += sweeps
    lines += [
        "",
        "Confusion heatmaps (classifier's top intent, most-confused classes): "
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


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def build_latency_report() -> str:
    lines = [
        "# NLU cost: parse latency and training time, old and new pipeline",
        "",
        f"Command: `make bench-nlu` (steps `project` and `latency`). Machine: {_machine()}.",
        f"`old` is config.yml and nlu/ at commit {OLD_COMMIT}; `new` is the working tree's. Both "
        "are trained on the project's data/nlu (all four languages) and measured in the same run.",
        "",
    ]
    latency = RESULTS / "latency" / "result.json"
    if latency.is_file():
        r = json.loads(latency.read_text(encoding="utf-8"))
        lines += [
            "## Parse latency per message",
            "",
            f"{r['messages']} held-out messages (en, sv, nb, zh, shuffled; used only as inputs) "
            f"parsed one at a time with `MessageProcessor.parse_message` (the Rasa server's call) "
            f"after 20 warm-up messages; {r['rounds']} rounds per pipeline in fresh processes, "
            f"old and new alternating. Load average during the runs: "
            f"{r['load_average'][0]:.1f}-{r['load_average'][1]:.1f} (other jobs shared the two "
            f"cores). Finished {r['finished']}.",
            "",
            "| pipeline | parses | p50 ms | p95 ms | p99 ms | mean ms |",
            "|---|---|---|---|---|---|",
        ]
        for pipeline, times in r["times"].items():
            lines.append(
                f"| {pipeline} | {len(times)} | {_percentile(times, 50):.1f} "
                f"| {_percentile(times, 95):.1f} | {_percentile(times, 99):.1f} "
                f"| {float(np.mean(times)):.1f} |"
            )
        lines += ["", "Each round on its own (a fresh process each; the slowest parses of a "
                  "round show whether other jobs got in the way):", "",
                  "| pipeline | round | p50 ms | p99 ms | max ms | parses over 100 ms |",
                  "|---|---|---|---|---|---|"]
        for pipeline in r["times"]:
            for number in range(r["rounds"]):
                path = RESULTS / "latency" / f"{pipeline}-{number}.json"
                if not path.is_file():
                    continue
                times = json.loads(path.read_text(encoding="utf-8"))["milliseconds"]
                lines.append(f"| {pipeline} | {number + 1} | {_percentile(times, 50):.1f} "
                             f"| {_percentile(times, 99):.1f} | {max(times):.0f} "
                             f"| {sum(t > 100 for t in times)} |")
        lines.append("")
    projects = [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted((RESULTS / "project").glob("*/result.json"))]
    if projects:
        lines += [
            "## Training time on the project's data",
            "",
            "NLU only: `rasa.model_training.train_nlu` on the pipeline's own data/nlu (`new`: "
            "the working tree's, four languages; `old`: f19058d's, English only, as deployed "
            "then), Rasa's training cache off. Cold: an empty sentence-vector cache, so every "
            "training text is encoded; warm: the cache the cold run filled. Whole model: `rasa "
            "train` of domain/, data/ and config.yml (NLU and dialogue) from an empty "
            "sentence-vector cache, as on a fresh machine; target at most 5 minutes.",
            "",
            "| pipeline | NLU examples | NLU cold (s) | load avg | NLU warm (s) | load avg "
            "| whole model, cold (s) | load avg | finished |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for p in projects:
            s = p["train_seconds"]
            warm = (f"{s['warm']:.0f} | {s['warm_load']:.1f}" if "warm" in s else "- | -")
            full = (f"{s['full']:.0f} | {s['full_load']:.1f}" if "full" in s else "- | -")
            examples = f"{s['cold_examples']:,}" if "cold_examples" in s else "-"
            lines.append(f"| {p['pipeline']} | {examples} | {s['cold']:.0f} "
                         f"| {s['cold_load']:.1f} | {warm} | {full} | {p['finished']} |")
        lines.append("")
    return "\n".join(lines)


def write_reports() -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(build_report(), encoding="utf-8")
    LATENCY_REPORT.write_text(build_latency_report(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument("--steps", default=",".join(STEPS),
                        help=f"comma-separated, from {', '.join(STEPS)}")
    parser.add_argument("--pipelines", default=",".join(PIPELINES),
                        help="comma-separated, from old, new")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.steps.split(",") if s.strip()]
    pipelines = [p.strip() for p in args.pipelines.split(",") if p.strip()]
    if unknown := set(steps) - set(STEPS):
        parser.error(f"unknown steps {sorted(unknown)}; choose from {', '.join(STEPS)}")
    if unknown := set(pipelines) - set(PIPELINES):
        parser.error(f"unknown pipelines {sorted(unknown)}; choose from old, new")
    if not args.report_only:
        for step in steps:
            if step == "project":
                for pipeline in pipelines:
                    run_project(pipeline)
            elif step == "latency":
                run_latency(pipelines)
            else:
                for pipeline in pipelines:
                    run_dataset(step, pipeline, args.datasets_dir)
            write_reports()
    write_reports()
    print(LATENCY_REPORT.read_text(encoding="utf-8"))
    print(REPORT.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
