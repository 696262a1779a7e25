"""Cross-validation of the NLU pipeline on the project's own training data (data/nlu), per language.

    python -m bench.nlu_cv                         # e5 and MiniLM, 5 folds, config.yml's pipeline
    python -m bench.nlu_cv --encoder e5 --folds 3
    python -m bench.nlu_cv --encoder e5 --dense-weight 1 --dense-weight 3   # compare weights
    python -m bench.nlu_cv --encoder e5 --english-encoder none --english-encoder minilm
    python -m bench.nlu_cv --encoder e5 --fold-diacritics off --fold-diacritics on
    python -m bench.nlu_cv --report-only           # rebuild reports/nlu_cv.md from saved results

This is where encoder, the classifier's dense_weight and the fallback threshold are chosen:
never on heldout/. The folds are
stratified by label and language. Each fold trains config.yml's NLU part (with
SentenceEmbeddingFeaturizer's encoder set through NLU_ENCODER) with rasa.model_training.train_nlu
in a subprocess (bench.nlu_run) and predicts the left-out examples, so every example is predicted
once by a model that did not see it. The threshold sweep re-applies FallbackClassifier's rule to
the classifier's confidences. Results go to var/bench/nlu/cv/<encoder>/, the report to
reports/nlu_cv.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.model_selection import StratifiedKFold

from bench.nlu_data import ROOT
from bench.nlu_project import (
    LANGUAGES,
    LabelledText,
    LanguageScores,
    load_examples,
    score_language,
    thresholded_label,
    write_nlu_yaml,
)
from nlu.settings import ENCODERS, NO_ENCODER, NluSettings, resolve_english_encoder

RESULTS = ROOT / "var" / "bench" / "nlu" / "cv"
REPORT = ROOT / "reports" / "nlu_cv.md"
SWEEP = tuple(round(t, 2) for t in np.arange(0.10, 0.91, 0.05))


def pipeline_config(config_path: Path) -> dict[str, Any]:
    """The NLU part of a Rasa config (recipe, language, pipeline)."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("pipeline"), list):
        raise SystemExit(f"{config_path}: no 'pipeline' list")
    return {
        "recipe": data.get("recipe", "default.v1"),
        "language": data.get("language", "en"),
        "assistant_id": "nlu-cv",
        "pipeline": data["pipeline"],
    }


def with_dense_weight(config: dict[str, Any], weight: float) -> dict[str, Any]:
    """The config with LinearIntentClassifier's dense_weight set to `weight`."""
    pipeline = [
        {**step, "dense_weight": weight}
        if isinstance(step, dict) and step.get("name") == "nlu.classifiers.LinearIntentClassifier"
        else step
        for step in config["pipeline"]
    ]
    if pipeline == config["pipeline"] and not any(
        isinstance(step, dict) and step.get("name") == "nlu.classifiers.LinearIntentClassifier"
        for step in pipeline
    ):
        raise SystemExit("--dense-weight: the pipeline has no LinearIntentClassifier")
    return {**config, "pipeline": pipeline}


def english_encoder_of(config: dict[str, Any], encoder: str, override: str | None) -> str | None:
    """The English encoder a run trains with (None: none), by the featurizer's own rule:
    `override` (NLU_ENGLISH_ENCODER) or the featurizer's `english_encoder`."""
    featurizer = next((step for step in config["pipeline"] if isinstance(step, dict)
                       and step.get("name") == "nlu.featurizers.SentenceEmbeddingFeaturizer"), {})
    settings = NluSettings.from_env({"NLU_ENCODER": encoder, "NLU_ENGLISH_ENCODER": override or ""})
    return resolve_english_encoder(featurizer, settings)


def with_fold_diacritics(config: dict[str, Any], fold: bool) -> dict[str, Any]:
    """The config with MultilingualTokenizer's fold_diacritics set to `fold`."""
    name = "nlu.reading.MultilingualTokenizer"
    if not any(isinstance(step, dict) and step.get("name") == name for step in config["pipeline"]):
        raise SystemExit("--fold-diacritics: the pipeline has no MultilingualTokenizer")
    pipeline = [
        {**step, "fold_diacritics": fold}
        if isinstance(step, dict) and step.get("name") == name else step
        for step in config["pipeline"]
    ]
    return {**config, "pipeline": pipeline}


def run_name(encoder: str, english: str | None, weight: float | None,
             fold: bool | None = None) -> str:
    """e5, e5+minilm-en, e5+minilm-en-dense3, e5-fold, ...: the results' folder and the
    report's name."""
    name = f"{encoder}+{english}-en" if english else encoder
    name = f"{name}-dense{weight:g}" if weight is not None else name
    return name if fold is None else f"{name}-{'fold' if fold else 'nofold'}"


def dense_weight_of(config: dict[str, Any]) -> float | None:
    for step in config["pipeline"]:
        if isinstance(step, dict) and step.get("name") == "nlu.classifiers.LinearIntentClassifier":
            return float(step.get("dense_weight", 1.0))
    return None


def fallback_setting(config: dict[str, Any]) -> tuple[float, float]:
    for step in config["pipeline"]:
        if isinstance(step, dict) and step.get("name") == "FallbackClassifier":
            return float(step.get("threshold", 0.3)), float(step.get("ambiguity_threshold", 0.1))
    return 0.0, 0.0


def folds_of(examples: Sequence[LabelledText], folds: int, seed: int) -> list[np.ndarray]:
    strata = [f"{e.label}|{e.language}" for e in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(len(strata)), strata)]


def run_encoder(
    encoder: str, examples: list[LabelledText], config: dict[str, Any], folds: int, seed: int,
    name: str | None = None, english_override: str | None = None, results: Path = RESULTS,
) -> Path:
    work = results / (name or encoder)
    work.mkdir(parents=True, exist_ok=True)
    (work / "config.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    predictions: list[dict[str, Any] | None] = [None] * len(examples)
    train_seconds: list[float] = []
    env = {
        **os.environ,
        "NLU_ENCODER": encoder,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "RASA_MAX_CACHE_SIZE": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("NLU_ENGLISH_ENCODER", None)
    if english_override is not None:
        env["NLU_ENGLISH_ENCODER"] = english_override
    for number, test_index in enumerate(folds_of(examples, folds, seed)):
        fold = work / f"fold{number}"
        held = set(test_index.tolist())
        train = [e for i, e in enumerate(examples) if i not in held]
        data = write_nlu_yaml(train, fold / "train.yml")
        tests = fold / "tests.json"
        tests.write_text(json.dumps([examples[i].text for i in test_index], ensure_ascii=False),
                         encoding="utf-8")
        out = fold / "predictions.json"
        print(f"== cv {encoder} fold {number + 1}/{folds}: {len(train)} training examples",
              flush=True)
        subprocess.run(
            [sys.executable, "-m", "bench.nlu_run", "--config", str(work / "config.yml"),
             "--data", str(data), "--tests", str(tests), "--out", str(out),
             "--model-dir", str(fold / "model")],
            cwd=ROOT, env=env, check=True,
        )
        raw = json.loads(out.read_text(encoding="utf-8"))
        train_seconds.append(float(raw["train_seconds"]))
        for index, prediction in zip(test_index, raw["predictions"], strict=True):
            predictions[int(index)] = prediction
    result = {
        "encoder": encoder,
        "english_encoder": english_encoder_of(config, encoder, english_override),
        "dense_weight": dense_weight_of(config),
        "folds": folds,
        "seed": seed,
        "fallback": fallback_setting(config),
        "examples": [[e.text, e.label, e.language] for e in examples],
        "predictions": predictions,
        "train_seconds": train_seconds,
        "finished": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": os.getloadavg()[0],
    }
    path = work / "result.json"
    path.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    return path


def scores_at(result: dict[str, Any], threshold: float, ambiguity: float
              ) -> dict[str, LanguageScores]:
    gold: dict[str, list[str]] = {language: [] for language in (*LANGUAGES, "all")}
    predicted: dict[str, list[str]] = {language: [] for language in (*LANGUAGES, "all")}
    for (_, label, language), prediction in zip(result["examples"], result["predictions"],
                                                strict=True):
        final = thresholded_label(prediction, threshold, ambiguity)
        for key in (language, "all"):
            gold[key].append(label)
            predicted[key].append(final)
    return {key: score_language(gold[key], predicted[key]) for key in gold if gold[key]}


def choose_threshold(result: dict[str, Any], ambiguity: float, wrong_cost: float = 0.0) -> float:
    """The swept threshold with the best mean over the four languages of accuracy minus
    `wrong_cost` times the confident-wrong rate. With 0 it is the best mean accuracy; with 1 a
    confident wrong answer costs twice what a fallback costs (both lose the accuracy, the wrong
    answer also sends the customer down the wrong path: issue 26's decision rule)."""
    def value(threshold: float) -> float:
        scores = scores_at(result, threshold, ambiguity)
        return float(np.mean([scores[language].accuracy
                              - wrong_cost * scores[language].confident_wrong
                              for language in LANGUAGES if language in scores]))

    return max(SWEEP, key=value)


def _row(name: str, scores: dict[str, LanguageScores], attribute: str) -> str:
    cells = " | ".join(f"{getattr(scores[lang], attribute):.3f}" if lang in scores else "-"
                       for lang in (*LANGUAGES, "all"))
    return f"| {name} | {cells} |"


def build_report(folder: Path = RESULTS) -> str:
    results = {p.parent.name: json.loads(p.read_text(encoding="utf-8"))
               for p in sorted(folder.glob("*/result.json"))}
    lines = [
        "# NLU cross-validation on data/nlu (per language)",
        "",
        "Command: `python -m bench.nlu_cv` (see its --help). Every example of `data/nlu/` is "
        "predicted once by a model trained on the other folds (stratified by label and "
        "language); the pipeline is `config.yml`'s NLU part with the encoder switched through "
        "`NLU_ENCODER` and the English encoder through `NLU_ENGLISH_ENCODER`. Scoring as in "
        "the held-out evaluation: a label is the intent or "
        "`faq/<topic>`; an `out_of_scope` example is right when the prediction is `out_of_scope` "
        "or `nlu_fallback`; a confident wrong answer is any other wrong prediction. The held-out "
        "set (`heldout/`) played no part in any choice made here.",
        f"Machine: {os.cpu_count()} CPU cores shared with other jobs, "
        f"{platform.python_implementation()} {platform.python_version()}.",
        "",
    ]
    if not results:
        return "\n".join([*lines, "(no results yet)", ""])
    for encoder, result in results.items():
        threshold, ambiguity = result["fallback"]
        scores = scores_at(result, threshold, ambiguity)
        lines += [
            f"## {encoder} (English encoder {result.get('english_encoder') or 'none'}, "
            f"dense_weight {result.get('dense_weight')}): {result['folds']} "
            f"folds, FallbackClassifier threshold {threshold}, "
            f"ambiguity {ambiguity}",
            "",
            f"Finished {result['finished']} (load average {result['load_average']:.1f}); "
            f"training time per fold {min(result['train_seconds']):.0f}-"
            f"{max(result['train_seconds']):.0f} s.",
            "",
            "| metric | en | sv | nb | zh | all |",
            "|---|---|---|---|---|---|",
            _row("accuracy (OOS right if fallback)", scores, "accuracy"),
            _row("in-scope accuracy", scores, "in_scope_accuracy"),
            _row("out-of-scope recall", scores, "oos_recall"),
            _row("confident wrong answers", scores, "confident_wrong"),
            _row("in-scope sent to the fallback", scores, "in_scope_to_fallback"),
            "",
        ]
    lines += ["## Encoders side by side (accuracy at the configured threshold)", "",
              "| encoder | en | sv | nb | zh | all |", "|---|---|---|---|---|---|"]
    for encoder, result in results.items():
        lines.append(_row(encoder, scores_at(result, *result["fallback"]), "accuracy"))
    for encoder, result in results.items():
        _, ambiguity = result["fallback"]
        best = choose_threshold(result, ambiguity)
        costed = choose_threshold(result, ambiguity, wrong_cost=1.0)
        lines += [
            "",
            f"## Threshold sweep, {encoder} (ambiguity {ambiguity}); best mean accuracy over "
            f"the four languages at {best}; best mean accuracy minus confident-wrong rate (a "
            f"confident wrong answer costs twice a fallback) at {costed}",
            "",
            "| threshold | acc. en | acc. sv | acc. nb | acc. zh | OOS recall en | sv | nb | zh "
            "| confident wrong (all) | in-scope to fallback (all) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for threshold in SWEEP:
            s = scores_at(result, threshold, ambiguity)
            accuracy = " | ".join(f"{s[lang].accuracy:.3f}" for lang in LANGUAGES)
            recall = " | ".join(f"{s[lang].oos_recall:.3f}" for lang in LANGUAGES)
            lines.append(f"| {threshold} | {accuracy} | {recall} "
                         f"| {s['all'].confident_wrong:.3f} "
                         f"| {s['all'].in_scope_to_fallback:.3f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--encoder", choices=ENCODERS, action="append", default=[])
    parser.add_argument("--dense-weight", type=float, action="append", default=[],
                        help="LinearIntentClassifier's dense_weight (repeat to compare)")
    parser.add_argument("--english-encoder", choices=(*ENCODERS, NO_ENCODER),
                        action="append", default=[],
                        help="the featurizer's english_encoder through NLU_ENGLISH_ENCODER "
                             "(repeat to compare); default config.yml's")
    parser.add_argument("--fold-diacritics", choices=("on", "off"), action="append",
                        default=[], help="MultilingualTokenizer's fold_diacritics (repeat to "
                                         "compare); default config.yml's")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--report", type=Path, default=REPORT,
                        help="where to write the report (default reports/nlu_cv.md)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="the folder of the runs' results (default var/bench/nlu/cv)")
    args = parser.parse_args(argv)
    if not args.report_only:
        if args.folds < 2:
            parser.error("--folds must be at least 2")
        examples = load_examples(ROOT / "data" / "nlu")
        config = pipeline_config(args.config)
        for encoder in args.encoder or list(ENCODERS):
            for english in args.english_encoder or [None]:
                for weight in args.dense_weight or [None]:
                    for fold in [f == "on" for f in args.fold_diacritics] or [None]:
                        run_config = (config if weight is None
                                      else with_dense_weight(config, weight))
                        if fold is not None:
                            run_config = with_fold_diacritics(run_config, fold)
                        name = run_name(encoder, english_encoder_of(config, encoder, english),
                                        weight, fold)
                        run_encoder(encoder, examples, run_config, args.folds, args.seed,
                                    name=name, english_override=english,
                                    results=args.results)
                        args.report.write_text(build_report(args.results), encoding="utf-8")
    report = build_report(args.results)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
