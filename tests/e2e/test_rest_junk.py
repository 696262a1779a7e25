"""Junk order numbers and a wrong pair through the REST channel: no 500, the normal reply."""

from __future__ import annotations

import pytest

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
CANT_FIND = "can't find an order"
NOT_FOUND = "couldn't find an order matching"


def texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


@pytest.mark.parametrize("junk", JUNK.values(), ids=JUNK.keys())
def test_junk_order_number_gets_cant_find(bot_stack: RasaStack, junk: str) -> None:
    sender = f"e2e-junk-{abs(hash(junk))}"
    bot_stack.say(sender, "where is my order")
    status, body = bot_stack.post(bot_stack.rest_url, {"sender": sender, "message": junk})
    assert status == 200, body
    reply = texts(body)
    assert CANT_FIND in reply
    assert "Traceback" not in reply and "Error" not in reply


def test_wrong_pair_three_times_stops_and_offers_a_person(bot_stack: RasaStack) -> None:
    sender = "e2e-three-strikes"
    for attempt in range(3):
        bot_stack.say(sender, "where is my order?")
        bot_stack.say(sender, ORDERS["in_transit"].number)
        reply = texts(bot_stack.say(sender, ERIK))
        assert NOT_FOUND in reply, f"attempt {attempt + 1}: {reply}"
        # Nothing about the order leaks.
        assert ORDERS["in_transit"].carrier not in reply
    assert "customer service colleagues" in reply
    # Even the right pair is refused now.
    reply = texts(bot_stack.say(sender, "where is my order?"))
    assert "can't look up any more orders" in reply
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
    assert [r.get("text") for r in replies[0]] == [r.get("text") for r in replies[1]]
