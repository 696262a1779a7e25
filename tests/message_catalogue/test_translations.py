"""Every response of the domain in all four languages, each with the English one's placeholders.

A translation that drops `{order_number}` would show the customer a sentence without their order;
one that adds `{name}` would show a literal "{name}". Button payloads that are intents
("/affirm") must stay the same in every language; free-text payloads (the clarify_faq "Yes"
buttons ask the topic's question in the customer's language) may differ.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from message_catalogue.messages import Catalogue
from nordvik.languages import LANGUAGES

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "domain"
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


def raw_responses() -> dict[str, list[Mapping[str, Any]]]:
    """Every response of domain/*.yml with its variations, as written."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    for path in sorted(DOMAIN.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name, variations in (data.get("responses") or {}).items():
            assert name not in found, f"{name} is defined twice (again in {path.name})"
            found[name] = list(variations)
    return found


RESPONSES = raw_responses()


def language_of(variation: Mapping[str, Any]) -> str:
    conditions = variation.get("condition") or []
    if not conditions:
        return "en"
    assert len(conditions) == 1, f"more than one condition: {conditions}"
    condition = conditions[0]
    assert (condition.get("type"), condition.get("name")) == ("slot", "language"), condition
    return str(condition.get("value"))


def placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text.replace("{{", "").replace("}}", "")))


def test_the_domain_has_responses() -> None:
    assert len(RESPONSES) > 50
    assert "utter_greet" in RESPONSES and "utter_order_in_transit" in RESPONSES


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_has_the_four_languages_with_the_same_placeholders(name: str) -> None:
    by_language: dict[str, Mapping[str, Any]] = {}
    for variation in RESPONSES[name]:
        language = language_of(variation)
        assert language in LANGUAGES, f"{name}: unknown language {language!r}"
        assert language not in by_language, f"{name}: two {language} variations"
        by_language[language] = variation
    missing = [language for language in LANGUAGES if language not in by_language]
    assert not missing, f"{name} has no {', '.join(missing)} variation"
    english = by_language["en"]
    wanted = placeholders(str(english.get("text") or ""))
    english_buttons = english.get("buttons") or []
    for language, variation in by_language.items():
        text = str(variation.get("text") or "")
        assert text.strip(), f"{name} ({language}) has no text"
        got = placeholders(text)
        assert got == wanted, (
            f"{name} ({language}): placeholders {sorted(got)}, English has {sorted(wanted)}")
        buttons = variation.get("buttons") or []
        assert len(buttons) == len(english_buttons), f"{name} ({language}): buttons differ"
        for mine, theirs in zip(buttons, english_buttons, strict=True):
            assert str(mine.get("title") or "").strip(), f"{name} ({language}): empty title"
            if str(theirs.get("payload", "")).startswith("/"):
                assert mine.get("payload") == theirs.get("payload"), (
                    f"{name} ({language}): payload {mine.get('payload')!r}, "
                    f"English {theirs.get('payload')!r}")
            else:
                assert str(mine.get("payload") or "").strip(), f"{name} ({language}): payload"


def test_the_translations_are_translated() -> None:
    """A variation that is the English text again is not a translation (numbers and parts
    without words aside)."""
    copied = []
    for name, variations in RESPONSES.items():
        english = next(str(v.get("text")) for v in variations if language_of(v) == "en")
        if len(re.findall(r"[^\W\d_]{3,}", english)) < 3:
            continue
        copied += [f"{name} ({language_of(v)})" for v in variations
                   if language_of(v) != "en" and str(v.get("text")) == english]
    assert not copied, f"variations still in English: {copied}"


def test_the_catalogue_loads_every_language_of_every_response() -> None:
    catalogue = Catalogue.from_domain(DOMAIN)
    assert set(catalogue.names()) == set(RESPONSES)
    assert all(catalogue.languages(name) == set(LANGUAGES) for name in catalogue.names())
