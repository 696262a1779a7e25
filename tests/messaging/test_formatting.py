"""Splitting at each platform's limits, quick replies, numbered choices."""

from __future__ import annotations

import pytest

from messaging.formatting import (
    Choice,
    Limits,
    choice_for,
    numbered_text,
    pending_choices,
    shape,
    split_text,
)
from messaging.line import LinePlatform
from messaging.messenger import MessengerPlatform
from messaging.whatsapp import WhatsAppPlatform

YES_NO = [{"title": "Yes, please", "payload": "/affirm"},
          {"title": "No, thanks", "payload": "/deny"}]


@pytest.mark.parametrize("limit", [20, 100, 1600])
def test_split_keeps_every_word_and_respects_the_limit(limit: int) -> None:
    text = " ".join(f"Word{i}." if i % 7 == 0 else f"word{i}" for i in range(600))
    pieces = split_text(text, limit)
    assert all(0 < len(p) <= limit for p in pieces)
    assert " ".join(pieces).split() == text.split()


def test_split_prefers_paragraphs_then_sentences() -> None:
    text = "First paragraph here.\n\nSecond one is a bit longer. It has two sentences."
    assert split_text(text, 40) == ["First paragraph here.",
                                    "Second one is a bit longer.", "It has two sentences."]
    assert split_text("short", 40) == ["short"]
    assert split_text("", 40) == []
    assert split_text("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


def test_split_chinese_at_sentence_ends() -> None:
    text = "您的訂單已出貨。" * 10
    pieces = split_text(text, 20)
    assert all(p.endswith("。") for p in pieces) and "".join(pieces) == text


def test_platform_limits() -> None:
    assert WhatsAppPlatform.limits.text_chars == 1600 and WhatsAppPlatform.limits.quick_replies == 0
    assert MessengerPlatform.limits.text_chars == 2000
    assert MessengerPlatform.limits.quick_replies == 13
    assert LinePlatform.limits.text_chars == 5000 and LinePlatform.limits.quick_replies == 13


def test_buttons_become_quick_replies_on_the_last_piece() -> None:
    long_text = "A sentence that goes on. " * 100
    out = shape([{"text": long_text, "buttons": YES_NO, "utter_action": "utter_offer_human"}],
                MessengerPlatform.limits, "en")
    assert len(out) == 2 and all(len(o.text) <= 2000 for o in out)
    assert out[0].quick_replies == ()
    assert out[-1].quick_replies == (Choice("Yes, please", "/affirm"),
                                     Choice("No, thanks", "/deny"))
    assert not any(o.from_agent for o in out)


def test_whatsapp_gets_a_numbered_list_in_the_customers_language() -> None:
    out = shape([{"text": "Vill du prata med en kollega?", "buttons": [
        {"title": "Ja tack", "payload": "/affirm"}, {"title": "Nej tack", "payload": "/deny"}],
        "utter_action": "utter_offer_human"}], WhatsAppPlatform.limits, "sv")
    assert out[0].text == ("Vill du prata med en kollega?\n\n1. Ja tack\n2. Nej tack\n\n"
                           "Svara med siffran för ditt val.")
    assert pending_choices(out) == (Choice("Ja tack", "/affirm"), Choice("Nej tack", "/deny"))


def test_too_many_or_too_long_titles_fall_back_to_numbers() -> None:
    long_titles = [{"title": "A title much longer than twenty", "payload": "/a"}]
    out = shape([{"text": "Pick", "buttons": long_titles}], LinePlatform.limits, "zh")
    assert out[0].quick_replies == () and "1. A title much longer than twenty" in out[0].text
    assert "請回覆您選擇的號碼。" in out[0].text
    many = [{"title": f"t{i}", "payload": f"/p{i}"} for i in range(14)]
    assert shape([{"text": "Pick", "buttons": many}], Limits(2000, 13), "en")[0].numbered


def test_agent_text_is_marked_as_the_agents() -> None:
    out = shape([{"text": "Hi, Sara here."}], LinePlatform.limits, "en")
    assert out[0].from_agent


def test_choice_for_numbers_and_titles() -> None:
    choices = (Choice("Yes, please", "/affirm"), Choice("No, thanks", "/deny"))
    assert choice_for("1", choices) == "/affirm"
    assert choice_for(" 2. ", choices) == "/deny"
    assert choice_for("２", choices) == "/deny"  # full-width digit
    assert choice_for("no, THANKS", choices) == "/deny"
    assert choice_for("3", choices) is None
    assert choice_for("where is my order", choices) is None


def test_numbered_text_without_a_question() -> None:
    expected = "1. A\n\nSvar med tallet for valget ditt."
    assert numbered_text("", [Choice("A", "/a")], "nb") == expected

