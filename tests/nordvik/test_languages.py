"""Language detection on short customer messages."""

from __future__ import annotations

import pytest

from nordvik.languages import LANGUAGES, detect_language, language_confidences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is my parcel?", "en"),
        ("how do I return a broken lamp", "en"),
        ("can I pay with Klarna", "en"),
        ("var är mitt paket?", "sv"),
        ("hur lång är leveranstiden till Göteborg", "sv"),
        ("jag vill returnera min beställning", "sv"),
        ("hvor er pakken min?", "nb"),
        ("hvordan returnerer jeg en vare", "nb"),
        ("jeg vil endre leveringsadressen", "nb"),
        ("我的包裹在哪裡？", "zh"),
        ("如何退貨", "zh"),
        ("運費多少", "zh"),
    ],
)
def test_short_messages_in_all_four_languages(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "   ", None, "ok", "?!", "A10234", "12345 678", "😀😀"])
def test_empty_or_too_short_input_gives_the_default(text: str | None) -> None:
    assert detect_language(text) == "en"
    assert detect_language(text, default="sv") == "sv"


def test_order_numbers_and_addresses_do_not_sway_the_guess() -> None:
    assert detect_language("var är order A10234? kund@example.com") == "sv"
    assert detect_language("hvor er ordre A10234 https://nordvik.example/x") == "nb"


def test_any_han_character_means_chinese_even_when_mixed() -> None:
    assert detect_language("order A10234 退貨") == "zh"


def test_mixed_input_returns_a_supported_language() -> None:
    result = detect_language("hej, where is my order?")
    assert result in LANGUAGES


def test_low_confidence_falls_back_to_the_default() -> None:
    assert detect_language("var är mitt paket?", min_confidence=1.01) == "en"


def test_unsupported_default_is_rejected() -> None:
    with pytest.raises(ValueError, match="default language 'de'"):
        detect_language("hello there", default="de")


def test_confidences_cover_only_the_four_languages() -> None:
    confidences = language_confidences("hvor er pakken min")
    assert set(confidences) <= set(LANGUAGES)
    assert max(confidences, key=lambda code: confidences[code]) == "nb"
    assert sum(confidences.values()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("text", "expected"), [
    ("我要取消訂單，信箱是ann.lu@example.tw", "zh"),
    ("my email is anna.berg@example.se", "en"),
    ("min mejl är anna.berg@example.se och ordern A12345", "sv"),
])
def test_addresses_and_order_numbers_do_not_decide_the_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["ok", "A12345", "anna@example.com", "ja", "5", "👍"])
def test_too_short_to_tell(text: str) -> None:
    from nordvik.languages import detect_language_or_none

    assert detect_language_or_none(text) is None


@pytest.mark.parametrize(("text", "expected"), [
    ("in English please", "en"), ("kan du skriva på engelska?", "en"), ("請說英文", "en"),
    ("på svenska tack", "sv"), ("can you speak Swedish", "sv"), ("snakk norsk", "nb"),
    ("kan du prata norska", "nb"), ("請用中文", "zh"), ("can we do this in Chinese?", "zh"),
    ("do you speak German", None), ("english or swedish?", None), ("", None),
])
def test_requested_language(text: str, expected: str | None) -> None:
    from nordvik.languages import requested_language

    assert requested_language(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("hei", "nb"), ("Hei!", "nb"), ("takk", "nb"), ("hej", "sv"), ("Tack!", "sv"), ("hi", "en"),
    ("hello!", "en"), ("你好", "zh"), ("hej då", "sv"), ("hej da", "sv"), ("Tack sa mycket!", "sv"),
])
def test_short_greetings_and_thanks_of_one_language(text: str, expected: str) -> None:
    from nordvik.languages import detect_language_or_none

    assert detect_language_or_none(text) == expected


@pytest.mark.parametrize(("text", "detected", "unsure"), [
    ("hur lang tid tar frakten", "nb", True),  # Swedish without å: a weak Norwegian guess
    ("far jag returnera en lampa", "sv", True),
    ("hvor er pakken min", "nb", False),  # confident
    ("hur lång tid tar frakten", "nb", False),  # marked letters: the guess is not doubted here
    ("hur lang tid tar frakten", "en", False),  # only a guess between sv and nb can be unsure
    ("", "sv", True),  # nothing to go on
])
def test_unsure_between_swedish_and_norwegian(text: str, detected: str, unsure: bool) -> None:
    from nordvik.languages import unsure_between_scandinavian

    assert unsure_between_scandinavian(text, detected) is unsure
