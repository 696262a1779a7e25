"""The project's own NLU data for the benchmarks: examples per language, labels and scores.

    examples = load_examples(ROOT / "data" / "nlu")         # data/nlu/<lang>/ (training data)
    examples = load_examples(ROOT / "heldout" / "nlu")      # heldout/nlu/<lang>.yml (never trained)
    write_nlu_yaml(examples, path)                          # Rasa YAML, faq/<topic> kept
    scores = score_language(gold, predicted)                # accuracy, OOS recall, confident wrong

A label is the intent, or `faq/<topic>` for the retrieval intent. Scoring follows what a customer
meets: an `out_of_scope` message is handled right when the prediction is `out_of_scope` or
`nlu_fallback` (both go to the knowledge fallback); a confident wrong answer is a prediction that
is neither of those and not the right label.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.nlu_metrics import FALLBACK_INTENT

LANGUAGES: tuple[str, ...] = ("en", "sv", "nb", "zh")
OUT_OF_SCOPE = "out_of_scope"
KNOWLEDGE_FALLBACK = frozenset({OUT_OF_SCOPE, FALLBACK_INTENT})


class ProjectDataError(ValueError):
    """The project's NLU files are missing or not usable."""


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    language: str
    entities: tuple[tuple[str, str], ...] = ()


def _language_sources(root: Path, language: str) -> Path | None:
    folder = root / language
    if folder.is_dir():
        return folder
    file = root / f"{language}.yml"
    return file if file.is_file() else None


def load_examples(
    root: Path, languages: Sequence[str] = LANGUAGES, *, extra: Sequence[Path] = ()
) -> list[LabelledText]:
    """Examples of `root/<lang>/` folders or `root/<lang>.yml` files; `extra` files are English."""
    from rasa.shared.nlu.training_data.loading import load_data  # noqa: PLC0415 - rasa (2 s); scoring doesn't need it

    sources: list[tuple[str, Path]] = []
    for language in languages:
        source = _language_sources(root, language)
        if source is None:
            raise ProjectDataError(f"no NLU data for {language!r} under {root}")
        sources.append((language, source))
    sources += [("en", path) for path in extra]
    examples: list[LabelledText] = []
    for language, source in sources:
        for message in load_data(str(source)).intent_examples:
            text = message.get("text")
            if not text:
                continue
            label = message.get("intent_response_key") or message.get("intent")
            entities = tuple(
                (str(e.get("entity")), str(e.get("value")))
                for e in message.get("entities") or []
            )
            examples.append(LabelledText(str(text), str(label), language, entities))
    if not examples:
        raise ProjectDataError(f"no labelled examples under {root}")
    return examples


def write_nlu_yaml(examples: Sequence[LabelledText], path: Path) -> Path:
    """Rasa 3 NLU YAML of the examples (texts only, no entity markup), faq/<topic> kept."""
    by_label: dict[str, list[str]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example.text)
    lines = ['version: "3.1"', "nlu:"]
    for label in sorted(by_label):
        lines += [f"- intent: {label}", "  examples: |"]
        for text in dict.fromkeys(by_label[label]):
            # Each line of the block is taken as typed; brackets would be entity markup.
            escaped = " ".join(text.replace("[", "(").replace("]", ")").split())
            lines.append(f"    - {escaped}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def predicted_label(prediction: dict[str, Any]) -> str:
    """The label a prediction of bench.nlu_run gives: the intent, or faq/<topic>."""
    intent = str(prediction.get("intent"))
    if intent == prediction.get("top_intent") and prediction.get("response_key"):
        return str(prediction["response_key"])
    return intent


def thresholded_label(prediction: dict[str, Any], threshold: float, ambiguity: float) -> str:
    """The label FallbackClassifier(threshold, ambiguity_threshold) would leave."""
    top, second = prediction["top_confidence"], prediction["second_confidence"]
    if top < threshold or (top - second) < ambiguity or prediction.get("top_intent") is None:
        return FALLBACK_INTENT
    if prediction.get("response_key"):
        return str(prediction["response_key"])
    return str(prediction["top_intent"])


@dataclass(frozen=True)
class LanguageScores:
    examples: int
    accuracy: float
    in_scope_accuracy: float
    oos_recall: float
    confident_wrong: float
    in_scope_to_fallback: float


def is_correct(gold: str, predicted: str) -> bool:
    return predicted == gold or (gold == OUT_OF_SCOPE and predicted in KNOWLEDGE_FALLBACK)


def score_language(gold: Sequence[str], predicted: Sequence[str]) -> LanguageScores:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold labels but {len(predicted)} predictions")
    if not gold:
        raise ValueError("no examples to score")
    pairs = list(zip(gold, predicted, strict=True))
    correct = [is_correct(g, p) for g, p in pairs]
    in_scope = [(g, p) for g, p in pairs if g != OUT_OF_SCOPE]
    oos = [p for g, p in pairs if g == OUT_OF_SCOPE]
    wrong = [not ok and p not in KNOWLEDGE_FALLBACK for ok, (_, p) in zip(correct, pairs,
                                                                         strict=True)]
    return LanguageScores(
        examples=len(pairs),
        accuracy=sum(correct) / len(pairs),
        in_scope_accuracy=sum(g == p for g, p in in_scope) / max(len(in_scope), 1),
        oos_recall=sum(p in KNOWLEDGE_FALLBACK for p in oos) / max(len(oos), 1),
        confident_wrong=sum(wrong) / len(pairs),
        in_scope_to_fallback=sum(p in KNOWLEDGE_FALLBACK for _, p in in_scope)
        / max(len(in_scope), 1),
    )
