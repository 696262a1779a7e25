"""The e-mail channel's own texts are catalogue responses (domain/mail.yml), in every language
(tests/message_catalogue checks every response's languages and placeholders)."""

from __future__ import annotations

import pytest

from mail.compose import MAIL_VERSIONS, mail_text
from message_catalogue.messages import get_catalogue
from nordvik.languages import LANGUAGES

OWN_TEXTS = ("mail_greeting", "mail_signature", "mail_bot_note", "mail_reply_options",
             "mail_subject_fallback", "mail_undelivered_note")


def test_every_chat_response_with_a_mail_version_has_one() -> None:
    names = set(get_catalogue().names())
    assert {f"utter_{name}" for name in MAIL_VERSIONS.values()} <= names
    assert set(MAIL_VERSIONS) <= names


@pytest.mark.parametrize("name", OWN_TEXTS)
def test_the_channels_texts_are_in_the_catalogue_in_every_language(name: str) -> None:
    assert get_catalogue().languages(f"utter_{name}") == set(LANGUAGES)
    texts = {language: mail_text(name, language, options="A / B") for language in LANGUAGES}
    assert len(set(texts.values())) == len(LANGUAGES)  # a text of its own in each language
