"""Replies for the ear (voice/speech.py) and the catalogue's phone responses."""

from __future__ import annotations

from datetime import date

import pytest

from message_catalogue.messages import get_catalogue
from nordvik.languages import LANGUAGES
from voice.speech import (
    for_the_ear,
    grouped,
    has_url,
    speak_messages,
    spoken_order_number,
    spoken_params,
)


def test_links_are_left_out() -> None:
    text = ("Click \"Forgot password\" on the login page at https://nordvik.example and enter "
            "your e-mail address. Check your balance at https://nordvik.example/giftcard.")
    spoken = for_the_ear(text)
    assert not has_url(spoken)
    assert spoken == ("Click \"Forgot password\" on the login page and enter your e-mail "
                      "address. Check your balance.")
    assert for_the_ear("Mail support@nordvik.example today") == "Mail support@nordvik.example today"
    assert not has_url(for_the_ear("訂單追蹤，可在這裡查詢貨態：https://t.example/x?a=1"))


def test_numbers_in_groups_and_no_markup() -> None:
    assert spoken_order_number("A10234") == "A, 1 0 2, 3 4"
    assert grouped("PN123456SE") == "P N 1, 2 3 4, 5 6 S, E"
    assert for_the_ear("Order **A10234** 👋 is here") == "Order A, 1 0 2, 3 4 is here"


@pytest.mark.parametrize("language", LANGUAGES)
def test_voice_variant_with_spoken_parameters(language: str) -> None:
    message = {"utter_action": "utter_order_in_transit", "text": "x https://t.example/1",
               "order_number": "A10234", "items": "lamp", "carrier": "PostNord",
               "tracking_number": "PN123456SE", "tracking_url": "https://t.example/1",
               "eta": "2 december 2026"}
    spoken = speak_messages(get_catalogue(), [message], language)
    assert len(spoken.lines) == 1
    line = spoken.lines[0]
    assert "A, 1 0 2, 3 4" in line and "P N 1, 2 3 4" in line and "2 december 2026" in line
    assert not has_url(line)


SPOKEN_ETA = {"en": "Wednesday 2 December", "sv": "onsdag 2 december",
              "nb": "onsdag 2. desember", "zh": "12月2日 星期三"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_delivery_date_as_people_say_it(language: str) -> None:
    message = {"order_number": "A10234", "eta": "2 december 2026", "eta_date": "2026-12-02"}
    params = spoken_params(message, language, today=date(2026, 11, 30))
    assert params["eta"] == SPOKEN_ETA[language]
    next_year = spoken_params(message, language, today=date(2027, 1, 5))["eta"]
    assert "2026" in next_year


@pytest.mark.parametrize("language", LANGUAGES)
def test_buttons_become_keypad_choices(language: str) -> None:
    message = {"utter_action": "utter_confirm_cancel", "text": "Cancel order A10234?",
               "buttons": [{"title": "Yes, cancel it", "payload": "/affirm"},
                           {"title": "No, keep it", "payload": "/deny"}]}
    spoken = speak_messages(get_catalogue(), [message], language)
    assert spoken.choices == ("/affirm", "/deny")
    assert "1" in spoken.lines[1] and "Yes, cancel it" in spoken.lines[1]
    assert "2" in spoken.lines[2]


def test_text_without_a_voice_variant_is_said_as_written() -> None:
    spoken = speak_messages(get_catalogue(), [{"text": "Hello there"}], "en")
    assert spoken.lines == ("Hello there",) and spoken.choices == ()


def test_the_dialogues_rating_question_is_the_keypad_rating() -> None:
    buttons = [{"title": str(n), "payload": f'/csat_rating{{"csat_rating": "{n}"}}'}
               for n in range(1, 6)] + [{"title": "Skip", "payload": "/csat_skip"}]
    message = {"utter_action": "utter_ask_csat_rating", "text": "How happy?", "buttons": buttons}
    spoken = speak_messages(get_catalogue(), [message], "sv")
    assert spoken.lines == (get_catalogue().text("utter_phone_csat", "sv"),)
    assert spoken.choices[3] == '/csat_rating{"csat_rating": "4"}'
