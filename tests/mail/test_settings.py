"""MailSettings from the environment: defaults, SMTP_URL forms, errors naming the variable."""

from __future__ import annotations

import pytest

from mail.settings import MailSettings, SmtpTarget
from nordvik.env import REPO_ROOT, SettingsError

BASE = {"MAIL_WEBHOOK_TOKEN": "a-test-token-of-enough-length", "RASA_URL": "http://127.0.0.1:9"}


def test_defaults() -> None:
    settings = MailSettings.from_env(BASE)
    assert (settings.host, settings.port) == ("127.0.0.1", 2525)
    assert settings.smtp.scheme == "file"
    assert settings.smtp.directory == REPO_ROOT / "var" / "mail" / "sent"
    assert settings.accepts("Support@Nordvik.Example") and not settings.accepts("x@y.example")
    assert settings.rasa_url == "http://127.0.0.1:9"
    assert settings.sender.addr_spec == "support@nordvik.example"
    assert settings.smtp_limit_bytes == 2 * settings.max_bytes
    assert "a-test-token" not in repr(settings)


def test_smtp_urls() -> None:
    plain = SmtpTarget.parse("smtp://127.0.0.1:2526")
    assert (plain.scheme, plain.host, plain.port) == ("smtp", "127.0.0.1", 2526)
    secure = SmtpTarget.parse("smtps://bot%40nordvik:p%40ss@mail.example")
    assert (secure.port, secure.username, secure.password) == (465, "bot@nordvik", "p@ss")
    assert "p@ss" not in repr(secure) and "p@ss" not in secure.describe()
    assert SmtpTarget.parse("smtp://mail.example").port == 25


@pytest.mark.parametrize("name, value", [
    ("SMTP_URL", "http://mail.example"), ("SMTP_URL", "smtp://"), ("SMTP_URL", "file:"),
    ("MAIL_PORT", "smtp"), ("MAIL_FROM", "not an address"), ("MAIL_RECIPIENTS", "support"),
    ("MAIL_MAX_BYTES", "10"),
])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        MailSettings.from_env({**BASE, name: value})


def test_any_recipient() -> None:
    assert MailSettings.from_env({**BASE, "MAIL_RECIPIENTS": "*"}).accepts("who@ever.example")
