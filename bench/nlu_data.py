"""Banking77 and CLINC150 as Rasa NLU training data plus labelled test examples.

The data is read where it lies (default `../shared/datasets`) and never copied into the project;
the converted training files go to `var/bench/`.

CLINC150: the model is trained on the 150 in-scope intents (`train` split), and, with
`oos_train=True`, on CLINC's own 100 `oos_train` queries as a 151st intent OOS_LABEL. Out-of-scope
test queries (`oos_test`) carry the label OOS_LABEL; a prediction counts as out-of-scope when the
pipeline's FallbackClassifier fires (`nlu_fallback`) or it predicts OOS_LABEL. The validation
split (`val` + `oos_val`) is where a fallback threshold may be chosen; the test split never is.
"""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASETS = ROOT.parent / "shared" / "datasets"
OOS_LABEL = "out_of_scope"
_NOT_INTENT_CHARS = re.compile(r"[^A-Za-z0-9_]")


class DatasetError(ValueError):
    """A dataset file is missing or not in the expected format."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass(frozen=True)
class Dataset:
    name: str
    train: tuple[Example, ...]
    test: tuple[Example, ...]
    has_out_of_scope: bool
    validation: tuple[Example, ...] = ()


def _clean(text: str) -> str:
    return " ".join(text.split())


def _check_label(label: str, where: str) -> str:
    """The label as a Rasa intent name (Banking77 has 'reverted_card_payment?')."""
    name = _NOT_INTENT_CHARS.sub("", label.strip().replace(" ", "_"))
    if not name:
        raise DatasetError(f"{where}: label {label!r} is not a usable intent name")
    return name


def _read_banking_csv(path: Path) -> list[Example]:
    if not path.is_file():
        raise DatasetError(f"Banking77 file not found: {path}")
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        if reader.fieldnames is None or not {"text", "category"} <= set(reader.fieldnames):
            raise DatasetError(
                f"{path}: expected the columns 'text' and 'category', got {reader.fieldnames}"
            )
        examples = []
        for line, row in enumerate(reader, start=2):
            text = _clean(row["text"] or "")
            if not text:
                raise DatasetError(f"{path}:{line}: empty text")
            examples.append(Example(text, _check_label(row["category"] or "", f"{path}:{line}")))
    return examples


def load_banking77(directory: Path) -> Dataset:
    return Dataset(
        name="banking77",
        train=tuple(_read_banking_csv(directory / "train.csv")),
        test=tuple(_read_banking_csv(directory / "test.csv")),
        has_out_of_scope=False,
    )


def _clinc_split(data: dict[str, object], key: str, path: Path) -> list[Example]:
    rows = data.get(key)
    if not isinstance(rows, list):
        raise DatasetError(f"{path}: split {key!r} is missing or not a list")
    examples = []
    for index, row in enumerate(rows):
        if (
            not isinstance(row, list)
            or len(row) != 2
            or not all(isinstance(part, str) for part in row)
        ):
            raise DatasetError(f"{path}: {key}[{index}] is not a [text, intent] pair: {row!r}")
        text, label = _clean(row[0]), row[1]
        if not text:
            raise DatasetError(f"{path}: {key}[{index}] has an empty text")
        if label == "oos":
            label = OOS_LABEL
        examples.append(Example(text, _check_label(label, f"{path}: {key}[{index}]")))
    return examples


def load_clinc150(path: Path, *, oos_train: bool = False) -> Dataset:
    """In-scope `train` (+ `oos_train` if asked) for training; `val` + `oos_val` for choosing a
    threshold; `test` + `oos_test` (label OOS_LABEL) for testing."""
    if not path.is_file():
        raise DatasetError(f"CLINC150 file not found: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object with the splits")
    train = _clinc_split(data, "train", path)
    if any(example.label == OOS_LABEL for example in train):
        raise DatasetError(f"{path}: the in-scope train split contains out-of-scope examples")
    if oos_train:
        train += _clinc_split(data, "oos_train", path)
    validation = _clinc_split(data, "val", path) + _clinc_split(data, "oos_val", path)
    test = _clinc_split(data, "test", path) + _clinc_split(data, "oos_test", path)
    return Dataset(
        name="clinc150_oos" if oos_train else "clinc150",
        train=tuple(train),
        test=tuple(test),
        has_out_of_scope=True,
        validation=tuple(validation),
    )


def load_dataset(name: str, datasets_dir: Path) -> Dataset:
    """banking77, clinc150 (in-scope training), or clinc150_oos (plus CLINC's oos_train)."""
    if name == "banking77":
        return load_banking77(datasets_dir / "banking77")
    if name in ("clinc150", "clinc150_oos"):
        return load_clinc150(datasets_dir / "clinc150" / "data_full.json",
                             oos_train=name == "clinc150_oos")
    raise DatasetError(f"unknown dataset {name!r}; expected banking77, clinc150 or clinc150_oos")


def to_rasa_nlu_yaml(examples: Iterable[Example]) -> str:
    """Rasa 3 NLU YAML; texts are escaped so brackets are never read as entity annotations."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        by_intent[example.label].append(example.text)
    lines = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        lines.append(f"- intent: {intent}")
        lines.append("  examples: |")
        for text in dict.fromkeys(by_intent[intent]):
            escaped = text.replace("[", "(").replace("]", ")")
            lines.append(f"    - {escaped}")
    return "\n".join(lines) + "\n"


def write_training_data(dataset: Dataset, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{dataset.name}_train.yml"
    path.write_text(to_rasa_nlu_yaml(dataset.train), encoding="utf-8")
    return path


def texts_and_labels(examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    return [e.text for e in examples], [e.label for e in examples]
