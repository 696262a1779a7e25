"""Metrics and plots for the NLU benchmark: accuracy, macro-F1, in-scope accuracy, OOS recall."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from bench.nlu_data import OOS_LABEL

FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float | None
    oos_recall: float | None


def final_labels(predictions: Sequence[dict[str, Any]]) -> list[str]:
    """The predicted label per example; a fired FallbackClassifier means out-of-scope."""
    return [
        OOS_LABEL if p["intent"] in (FALLBACK_INTENT, None) else str(p["intent"])
        for p in predictions
    ]


def top_labels(predictions: Sequence[dict[str, Any]]) -> list[str]:
    """The classifier's top intent per example, whether or not FallbackClassifier fired."""
    return [str(p["top_intent"]) for p in predictions]


def fallback_rate(predictions: Sequence[dict[str, Any]]) -> float:
    fired = sum(p["intent"] in (FALLBACK_INTENT, None) for p in predictions)
    return fired / max(len(predictions), 1)


def thresholded_labels(
    predictions: Sequence[dict[str, Any]], threshold: float, ambiguity: float
) -> list[str]:
    """Labels as FallbackClassifier(threshold, ambiguity_threshold) would give them."""
    labels = []
    for p in predictions:
        top, second = p["top_confidence"], p["second_confidence"]
        fires = top < threshold or (top - second) < ambiguity
        labels.append(OOS_LABEL if fires or p["top_intent"] is None else str(p["top_intent"]))
    return labels


def score(gold: Sequence[str], predicted: Sequence[str], *, has_oos: bool) -> Scores:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    correct = sum(g == p for g, p in zip(gold, predicted, strict=True))
    labels = sorted(set(gold))
    macro = float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))
    if not has_oos:
        return Scores(correct / len(gold), macro, None, None)
    in_scope = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != OOS_LABEL]
    oos = [p for g, p in zip(gold, predicted, strict=True) if g == OOS_LABEL]
    return Scores(
        accuracy=correct / len(gold),
        macro_f1=macro,
        in_scope_accuracy=sum(g == p for g, p in in_scope) / max(len(in_scope), 1),
        oos_recall=sum(p == OOS_LABEL for p in oos) / max(len(oos), 1),
    )


def most_confused_classes(
    gold: Sequence[str], predicted: Sequence[str], count: int
) -> list[str]:
    errors: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g != p:
            errors[g] += 1
            errors[p] += 1
    return [label for label, _ in errors.most_common(count)]


def plot_confusion(
    gold: Sequence[str], predicted: Sequence[str], title: str, path: Path, count: int = 20
) -> None:
    """Heatmap of the confusion matrix restricted to the `count` most-confused classes."""
    import matplotlib  # noqa: PLC0415 - heavy (matplotlib); only the plots need it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - after matplotlib.use("Agg"); plots only

    classes = most_confused_classes(gold, predicted, count)
    if not classes:
        classes = sorted(set(gold))[:count]
    index = {label: i for i, label in enumerate(classes)}
    matrix = np.zeros((len(classes), len(classes)), dtype=int)
    for g, p in zip(gold, predicted, strict=True):
        if g in index and p in index:
            matrix[index[g], index[p]] += 1
    fig, ax = plt.subplots(figsize=(11, 9.5))
    shown = matrix.astype(float)
    np.fill_diagonal(shown, np.nan)
    image = ax.imshow(shown, cmap="Reds")
    ax.set_xticks(range(len(classes)), labels=classes, rotation=90, fontsize=7)
    ax.set_yticks(range(len(classes)), labels=classes, fontsize=7)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: the {len(classes)} most-confused classes (errors shaded)")
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
