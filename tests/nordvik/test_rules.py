"""The shared rules: order numbers, e-mail addresses, text helpers and settings parsing."""

from __future__ import annotations

import pytest

from nordvik.env import SettingsError, env_bool, env_choice, env_float, env_int, env_list
from nordvik.languages import normalize_language
from nordvik.orders import (
    find_order_number,
    find_order_numbers,
    iter_order_numbers,
    normalize_order_number,
)
from nordvik.text import (
    clip,
    escape_mrkdwn,
    find_email,
    mask_email,
    normalize,
    normalize_email,
    redact_emails,
)


@pytest.mark.parametrize(("raw", "expected"), [
    ("A12345", "A12345"), (" a12345 ", "A12345"), ("Ａ１２３４５", "A12345"), ("ａ12345", "A12345"),
    ("A1234", None), ("A123456", None), ("B12345", None), ("A1234٥", None), ("A12345\x00", None),
    ("' OR 1=1 --", None), ("A" + "1" * 10_000, None), (None, None), (12345, None), ("", None),
])
def test_normalize_order_number(raw: object, expected: str | None) -> None:
    assert normalize_order_number(raw) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("where is A12345?", "A12345"), ("order a10234 please", "A10234"),
    ("我的訂單A12345到哪了", "A12345"), ("訂單Ａ４８２１３", "A48213"),
    ("var är min order A10234,tack", "A10234"), ("ref XA12345", None), ("A123456", None),
    ("A12345B", None), ("no number here", None), ("", None), (None, None),
])
def test_find_order_number_in_free_text(text: str | None, expected: str | None) -> None:
    assert find_order_number(text) == expected


def test_every_order_number_with_offsets_into_the_original_text() -> None:
    text = "訂單Ａ４８２１３和A10234"
    spans = list(iter_order_numbers(text))
    assert [number for *_, number in spans] == ["A48213", "A10234"]
    assert [text[start:end] for start, end, _ in spans] == ["Ａ４８２１３", "A10234"]
    assert find_order_numbers("A10234, A10234 and A20000") == ["A10234", "A20000"]


def test_emails_are_found_normalised_and_masked() -> None:
    assert find_email("it's Anna.Berg@Example.com!") == "Anna.Berg@Example.com"
    assert find_email("我的信箱是lin.wei@example.tw謝謝") == "lin.wei@example.tw"
    assert find_email("no address") is None
    assert normalize_email(" Anna.Berg@Example.COM ") == "anna.berg@example.com"
    assert normalize_email("not an address") is None
    assert normalize_email("a@b.se\x00") is None
    masked = redact_emails("mail a.b+c@x.se, or ｌｉｎ＠ｅｘａｍｐｌｅ．ｔｗ")
    assert masked == "mail [e-mail], or [e-mail]"
    assert redact_emails("我的信箱是lin@example.tw謝謝") == "我的信箱是[e-mail]謝謝"
    assert mask_email("anna@example.com") == "a***@e***.com"


def test_text_helpers() -> None:
    assert normalize("Ａ１２　ok\x07") == "A12 ok"
    assert clip("abcdefgh", 5) == "abcd…"
    assert clip("abc", 5) == "abc"
    assert escape_mrkdwn("<!channel> & <http://x|y>") == "&lt;!channel&gt; &amp; &lt;http://x|y&gt;"


@pytest.mark.parametrize(("code", "expected"), [
    ("zh-TW", "zh"), ("zh_Hant", "zh"), ("sv-SE", "sv"), ("no", "nb"), ("nb_NO", "nb"),
    ("nn", "nb"), ("EN-us", "en"), ("de", None), ("", None), (None, None),
])
def test_language_codes(code: object, expected: str | None) -> None:
    assert normalize_language(code) == expected


def test_settings_parsing_names_the_variable() -> None:
    env = {"KB_MAX_K": " 7 ", "KB_MIN_SCORE": "0.5", "STORE_ECHO_SQL": "yes",
           "SLACK_AGENT_CHANNELS": "a, ,b", "KB_PASSAGE_CHARS": "seven",
           "DASHBOARD_SECURE_COOKIES": "seven", "WEB_CHAT_STORAGE": "Session"}
    assert env_int(env, "KB_MAX_K", 1) == 7
    assert env_int(env, "KB_KEEP_VERSIONS", 3) == 3
    assert env_float(env, "KB_MIN_SCORE", 1.0) == 0.5
    assert env_bool(env, "STORE_ECHO_SQL", False) is True
    assert env_list(env, "SLACK_AGENT_CHANNELS") == ("a", "b")
    assert env_choice(env, "WEB_CHAT_STORAGE", "local", ("local", "session")) == "session"
    with pytest.raises(SettingsError, match="KB_PASSAGE_CHARS='seven' is not a whole number"):
        env_int(env, "KB_PASSAGE_CHARS", 1)
    with pytest.raises(SettingsError, match="KB_MAX_K=7 must be at most 5"):
        env_int(env, "KB_MAX_K", 1, high=5)
    with pytest.raises(SettingsError, match="DASHBOARD_SECURE_COOKIES='seven' is not one of"):
        env_bool(env, "DASHBOARD_SECURE_COOKIES", True)
    with pytest.raises(SettingsError, match="KB_MIN_SCORE='nan' is not a number"):
        env_float({"KB_MIN_SCORE": "nan"}, "KB_MIN_SCORE", 1.0)
