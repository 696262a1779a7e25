"""The e-mail channel's own texts (mail/messages.yml): four languages, the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mail.compose import MAIL_VERSIONS, MESSAGES_FILE, mail_catalogue
from nordvik.languages import LANGUAGES

_PLACEHOLDER = re.compile(r"{([^\n{}]+?)}")
RESPONSES = (yaml.safe_load(Path(MESSAGES_FILE).read_text(encoding="utf-8")) or {})["responses"]


def test_every_chat_response_with_a_mail_version_has_one() -> None:
    assert set(MAIL_VERSIONS.values()) <= set(RESPONSES)


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_each_text_in_every_language_with_the_same_placeholders(name: str) -> None:
    catalogue = mail_catalogue()
    assert catalogue.languages(name) == set(LANGUAGES)
    english = set(_PLACEHOLDER.findall(catalogue.render(name, "en").text))
    for language in LANGUAGES:
        text = catalogue.render(name, language).text
        assert text.strip(), f"{name} ({language}) is empty"
        assert set(_PLACEHOLDER.findall(text)) == english, f"{name} ({language})"
        if language != "en":
            assert text != catalogue.render(name, "en").text, f"{name} ({language}) is English"
