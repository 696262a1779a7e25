"""Junk order numbers and a wrong pair through the REST channel: no 500, the normal reply."""

from __future__ import annotations

import pytest

from message_catalogue.messages import get_catalogue
from tests.support.rasa_stack import RasaStack
from tests.support.store import ANNA, ERIK, ORDERS

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JUNK = {
    "sql": "' OR '1'='1'; DROP TABLE orders; --",
    "html": "<script>alert('x')</script>",
    "long": "A" * 10_000,
    "emoji": "📦🚚🙈",
    "rtl": "\u202eرقم الطلب ١٠٠٠١\u202c",
}
FORM_REPLIES = {  # what the order form may answer to junk where it asked for an order number
    get_catalogue().text(name, "en") for name in (
        "utter_order_number_invalid", "utter_ask_order_number", "utter_remind_order_number",
        "utter_kb_no_answer")}


def texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
def test_junk_order_number_gets_cant_find(bot_stack: RasaStack, junk: str) -> None:
    sender = f"e2e-junk-{abs(hash(junk))}"
    bot_stack.say(sender, "where is my order")
    status, body = bot_stack.post(bot_stack.rest_url, {"sender": sender, "message": junk})
    if len(junk) > 5000:  # the channel refuses it with a clear error; nothing else changes
        assert status == 400 and "at most 5000 characters" in str(body), body
        tracker = bot_stack.tracker(sender)
        assert tracker["active_loop"].get("name") == "order_status_form"
        assert tracker["slots"]["order_number"] is None
        return
    assert status == 200, body
    reply = texts(body)
    assert body and all(str(r.get("text")) in FORM_REPLIES or str(r.get("text")).startswith(
        "This article might help") for r in body), reply
    assert "Traceback" not in reply and "Error" not in reply
    # The form still waits for an order number, and nothing was taken as one.
    tracker = bot_stack.tracker(sender)
    assert tracker["active_loop"].get("name") == "order_status_form"
    assert tracker["slots"]["order_number"] is None


def test_wrong_pair_three_times_stops_and_offers_a_person(bot_stack: RasaStack) -> None:
    sender = "e2e-three-strikes"
    number = ORDERS["in_transit"].number
    not_found = get_catalogue().text("utter_order_not_found", "en", order_number=number)
    bot_stack.say(sender, "where is my order?")
    bot_stack.say(sender, number)
    ask_again = get_catalogue().text("utter_ask_email", "en", order_number=number)
    for attempt in range(2):
        reply = texts(bot_stack.say(sender, ERIK))
        # the same number is kept and its e-mail asked for again
        assert reply in (not_found, f"{not_found}\n{ask_again}"), f"attempt {attempt + 1}: {reply}"
    reply = texts(bot_stack.say(sender, ERIK))  # the third wrong e-mail
    assert reply == "\n".join(get_catalogue().text(name, "en") for name in (
        "utter_verification_locked", "utter_offer_human"))
    assert ORDERS["in_transit"].carrier not in reply  # nothing about the order leaks
    # Even the right pair is refused now.
    bot_stack.say(sender, "no thanks")
    reply = texts(bot_stack.say(sender, "where is my order?"))
    assert get_catalogue().text("utter_verification_locked", "en") in reply
    assert ORDERS["in_transit"].carrier not in reply


def test_unknown_order_reply_is_identical_to_wrong_email(bot_stack: RasaStack) -> None:
    replies = []
    for sender, number, email in (
        ("e2e-wrong-email", ORDERS["in_transit"].number, ERIK),
        ("e2e-unknown-order", "A99999", ANNA),
    ):
        bot_stack.say(sender, "where is my order?")
        bot_stack.say(sender, number)
        replies.append(bot_stack.say(sender, email))
    # The same reply, but for the number the customer typed (which it repeats).
    first = [str(r.get("text")).replace(ORDERS["in_transit"].number, "#") for r in replies[0]]
    second = [str(r.get("text")).replace("A99999", "#") for r in replies[1]]
    assert first == second
