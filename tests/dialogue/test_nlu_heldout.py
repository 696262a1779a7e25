"""Intent macro-F1 on held-out NLU examples that are not in data/ (report in reports/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from sklearn.metrics import f1_score, precision_recall_fscore_support

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = Path(__file__).with_name("nlu_heldout.yml")
REPORT = ROOT / "reports" / "nlu_heldout.md"
MIN_MACRO_F1 = 0.90


def predicted_label(parse: dict[str, Any]) -> str:
    """The intent, or faq/<topic> from the ResponseSelector for the retrieval intent."""
    intent = str((parse.get("intent") or {}).get("name"))
    if intent == "faq":
        selected = (parse.get("response_selector") or {}).get("faq", {})
        key = (selected.get("response") or {}).get("intent_response_key")
        return str(key) if key else "faq"
    return intent


def heldout_examples() -> list[tuple[str, str]]:
    data = load_data(str(HELDOUT))
    examples = []
    for message in data.intent_examples:
        intent = str(message.get("intent"))
        response_key = message.get("intent_response_key")
        examples.append((str(message.get("text")), str(response_key or intent)))
    return examples


def write_report(gold: list[str], predicted: list[str], texts: list[str], model: Path) -> float:
    labels = sorted(set(gold))
    macro = float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))
    coarse = [g.split("/")[0] for g in gold]
    coarse_pred = [p.split("/")[0] for p in predicted]
    coarse_macro = float(f1_score(coarse, coarse_pred, labels=sorted(set(coarse)),
                                  average="macro", zero_division=0))
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
    lines = [
        "# NLU on held-out examples",
        "",
        f"Held-out file: `tests/dialogue/{HELDOUT.name}` ({len(gold)} examples, {len(labels)} "
        "intents and FAQ topics, none of them in `data/`). Model: "
        f"`models/{model.name}`. Written by `tests/dialogue/test_nlu_heldout.py`.",
        "",
        "| metric | value |",
        "|---|---|",
        f"| intent macro-F1 (each FAQ topic a label: intent + ResponseSelector) | {macro:.3f} |",
        f"| intent macro-F1 (intent classifier alone, `faq` as one label) | {coarse_macro:.3f} |",
        f"| accuracy (each FAQ topic a label) | {accuracy:.3f} |",
        "",
        "| label | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True):
        lines.append(f"| {label} | {p:.2f} | {r:.2f} | {f:.2f} | {s} |")
    errors = [(t, g, p) for t, g, p in zip(texts, gold, predicted, strict=True) if g != p]
    lines += ["", f"Misclassified ({len(errors)}):", ""]
    lines += [f"- \"{t}\": expected `{g}`, got `{p}`" for t, g, p in errors] or ["- none"]
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return macro


@pytest.mark.slow
async def test_heldout_intent_macro_f1(rasa_model: Path) -> None:
    from rasa.core.agent import Agent

    examples = heldout_examples()
    counts = Counter(label for _, label in examples)
    assert len(counts) >= 27 and min(counts.values()) >= 5, counts
    training_texts = {m.get("text").lower() for m in load_data(str(ROOT / "data" / "nlu"))
                      .intent_examples}
    leaked = [t for t, _ in examples if t.lower() in training_texts]
    assert not leaked, f"held-out examples also in data/: {leaked}"

    agent = Agent.load(str(rasa_model))
    predicted = [predicted_label(await agent.parse_message(text)) for text, _ in examples]
    macro = write_report([g for _, g in examples], predicted, [t for t, _ in examples],
                         rasa_model)
    assert macro >= MIN_MACRO_F1, f"macro-F1 {macro:.3f} < {MIN_MACRO_F1}; see {REPORT}"
