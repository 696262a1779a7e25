"""The customer channels' rules that need no server: input checks, metadata, settings."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nordvik.env import SettingsError
from nordvik.secrets import pseudonym
from rasa_addons.channels import InvalidMessage, clean_sender, clean_text, language_hint
from rasa_addons.messages import SLOW_DOWN, slow_down
from rasa_addons.ratelimit import client_address, client_pseudonym, message_language
from rasa_addons.settings import ChannelSettings, web_origins


@pytest.mark.parametrize("sender", [None, 42, "", "   ", "x" * 201, "a\x00b", "tab\there", ["a"]])
def test_bad_senders_are_refused_with_a_reason(sender: object) -> None:
    with pytest.raises(InvalidMessage) as error:
        clean_sender(sender, 200)
    assert "'sender'" in str(error.value)


def test_good_senders_and_texts() -> None:
    assert clean_sender("  conv-1 ", 200) == "conv-1"
    assert clean_sender("會話-ünïcode", 200) == "會話-ünïcode"
    assert clean_text("hi\x00 there", 10) == "hi there"
    assert clean_text("", 10) == ""
    for bad in (None, 5, {"text": "x"}, "x" * 11):
        with pytest.raises(InvalidMessage):
            clean_text(bad, 10)


def test_language_hint_accepts_the_four_languages_only() -> None:
    assert language_hint({"language": "sv-SE"}) == "sv"
    assert language_hint(None, {"language": "zh-TW"}) == "zh"
    assert language_hint({"language": "de"}, {"language": "nb"}) == "nb"
    assert language_hint({"language": 7}, "no", ["en"]) is None


def test_the_client_is_a_keyed_hash_of_the_address_sanic_trusts() -> None:
    direct = SimpleNamespace(remote_addr="", ip="203.0.113.7")
    proxied = SimpleNamespace(remote_addr="198.51.100.9", ip="127.0.0.1")
    assert client_address(direct) == "203.0.113.7"
    assert client_address(proxied) == "198.51.100.9"
    assert client_address(None) == "unknown"
    hashed = client_pseudonym("203.0.113.7")
    assert hashed == pseudonym("203.0.113.7", purpose="client") and "203" not in hashed
    assert hashed != client_pseudonym("203.0.113.8")


def test_the_polite_message_is_in_the_customers_language() -> None:
    assert slow_down(message_language("hej, var är mitt paket?")) == SLOW_DOWN["sv"]
    assert slow_down(message_language("我的包裹在哪裡")) == SLOW_DOWN["zh"]
    assert slow_down(message_language("ok", "nb-NO")) == SLOW_DOWN["nb"]
    assert slow_down(message_language("ok")) == SLOW_DOWN["en"]
    assert slow_down("xx") == SLOW_DOWN["en"]


def test_settings_from_the_environment() -> None:
    s = ChannelSettings.from_env({"WEB_ORIGINS": "https://shop.example, https://www.shop.example",
                                  "RATE_SESSION_MESSAGES": "5", "RATE_CLIENT_SECONDS": "30",
                                  "REDIS_URL": "redis://:pw@127.0.0.1:6379/0"})
    assert s.web_origins == ("https://shop.example", "https://www.shop.example")
    assert s.session_messages == 5 and s.client_seconds == 30.0
    assert "pw" not in repr(s)
    assert web_origins({"WEB_PORT": "9000"}) == ("http://localhost:9000", "http://127.0.0.1:9000")


@pytest.mark.parametrize("env", [{"WEB_ORIGINS": "shop.example"},
                                 {"WEB_ORIGINS": "https://shop.example/"},
                                 {"RATE_SESSION_MESSAGES": "-1"},
                                 {"RATE_CLIENT_SECONDS": "0"},
                                 {"RATE_LIMIT_PREFIX": "a:b"}])
def test_bad_settings_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(env))):
        ChannelSettings.from_env(env)


def test_socket_io_takes_the_origins_rasa_was_started_with() -> None:
    from rasa_addons.channels import rasa_cors_origins

    def app(origins: object) -> SimpleNamespace:
        options = {"resources": {r"/*": {"origins": origins}}, "automatic_options": True}
        return SimpleNamespace(ctx=SimpleNamespace(sanic_cors=SimpleNamespace(_options=options)))

    assert rasa_cors_origins(app(["https://shop.example"])) == ["https://shop.example"]
    assert rasa_cors_origins(app("*")) == "*"
    assert rasa_cors_origins(app(["https://a.example", "*"])) == "*"
    assert rasa_cors_origins(app("")) is None  # rasa run without --cors: WEB_ORIGINS stays
    assert rasa_cors_origins(app([])) is None
    assert rasa_cors_origins(SimpleNamespace(ctx=SimpleNamespace())) is None
