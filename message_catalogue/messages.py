"""Rendering the domain's responses outside Rasa: by name, language and parameters.

    catalogue = get_catalogue()
    catalogue.render("utter_handoff_started", "sv", case_id=12, minutes=5).text
    -> "Jag har skickat vidare vårt samtal till en kollega (ärende #12). ..."
    catalogue.languages("utter_greet")  -> {"en", "sv", "nb", "zh"}

A variation whose conditions are exactly `language == X` is language X; the unconditioned one is
English (and the fallback for a language that has none). Parameters fill `{name}` the way Rasa's
templated NLG does; `{{` and `}}` stand for literal braces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nordvik.env import REPO_ROOT
from nordvik.languages import DEFAULT_LANGUAGE, LANGUAGES

DOMAIN_DIR = REPO_ROOT / "domain"
LANGUAGE_SLOT = "language"
_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")


class CatalogueError(KeyError):
    """A response name that the catalogue does not have, or a malformed variation."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Rendered:
    """One response rendered for a language: its text and buttons."""

    name: str
    language: str
    text: str
    buttons: tuple[Button, ...] = field(default=())


def _variation_language(variation: Mapping[str, Any]) -> str | None:
    """The language a variation is for: None for the unconditioned (English) one."""
    conditions = variation.get("condition") or []
    languages = [
        condition.get("value") for condition in conditions
        if condition.get("type") == "slot" and condition.get("name") == LANGUAGE_SLOT
    ]
    if len(conditions) != len(languages) or len(languages) > 1:
        raise CatalogueError(f"a variation may only be conditioned on the language: {conditions}")
    return str(languages[0]) if languages else None


def fill(template: str, params: Mapping[str, Any]) -> str:
    """`{name}` replaced by params[name] (missing ones stay as they are), `{{`/`}}` literal."""
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return str(params[key]) if key in params and params[key] is not None else match.group(0)

    parts = template.replace("{{", "\x00").replace("}}", "\x01")
    return _PLACEHOLDER.sub(replace, parts).replace("\x00", "{").replace("\x01", "}")


class Catalogue:
    """The responses of a domain folder, by name and language."""

    def __init__(self, responses: Mapping[str, list[Mapping[str, Any]]]) -> None:
        self._by_name: dict[str, dict[str, Mapping[str, Any]]] = {}
        for name, variations in responses.items():
            by_language: dict[str, Mapping[str, Any]] = {}
            for variation in variations:
                language = _variation_language(variation) or DEFAULT_LANGUAGE
                if language not in LANGUAGES:
                    raise CatalogueError(f"{name}: unknown language {language!r}")
                by_language.setdefault(language, variation)
            self._by_name[name] = by_language

    @classmethod
    def from_domain(cls, domain_dir: Path = DOMAIN_DIR) -> Catalogue:
        responses: dict[str, list[Mapping[str, Any]]] = {}
        for path in sorted(domain_dir.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for name, variations in (data.get("responses") or {}).items():
                if name in responses:
                    raise CatalogueError(f"{name} is defined twice (again in {path.name})")
                responses[name] = list(variations)
        return cls(responses)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def languages(self, name: str) -> set[str]:
        return set(self._variations(name))

    def _variations(self, name: str) -> dict[str, Mapping[str, Any]]:
        try:
            return self._by_name[name]
        except KeyError:
            raise CatalogueError(f"no response named {name!r} in the catalogue") from None

    def render(self, name: str, language: str | None, **params: Any) -> Rendered:
        """The response in `language` (English when it has no such variation), filled."""
        variations = self._variations(name)
        chosen = language if language in variations else DEFAULT_LANGUAGE
        variation = variations.get(chosen) or next(iter(variations.values()))
        buttons = tuple(
            Button(fill(str(button.get("title", "")), params),
                   str(button.get("payload", "")).replace("{{", "{").replace("}}", "}"))
            for button in variation.get("buttons") or []
        )
        return Rendered(name, chosen, fill(str(variation.get("text", "")), params), buttons)

    def text(self, name: str, language: str | None, **params: Any) -> str:
        return self.render(name, language, **params).text


@lru_cache(maxsize=1)
def get_catalogue() -> Catalogue:
    """The catalogue of the repository's domain/, loaded once per process."""
    return Catalogue.from_domain()
