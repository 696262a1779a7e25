"""One whole order-status conversation through the REST channel, against the real servers."""

from __future__ import annotations

import sqlite3

import pytest

from store.repository import OrderStore
from tests.support.rasa_stack import RasaStack
from tests.support.store import ANNA, ORDERS, interactions

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def texts(replies: list[dict]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def test_order_status_conversation(bot_stack: RasaStack, bot_store: OrderStore) -> None:
    sender = "e2e-order-status"
    first = bot_store.verify_order(ORDERS["in_transit"].number, ANNA)
    second = bot_store.verify_order(ORDERS["delayed"].number, ANNA)
    assert first is not None and first.shipment is not None
    assert second is not None and second.shipment is not None

    assert "Nordvik" in texts(bot_stack.say(sender, "hi"))
    assert "order number" in texts(bot_stack.say(sender, "where is my order?")).lower()
    assert "e-mail" in texts(bot_stack.say(sender, first.number)).lower()
    reply = texts(bot_stack.say(sender, ANNA))
    assert first.number in reply
    assert "on its way" in reply
    assert first.shipment.carrier in reply
    assert first.shipment.tracking_number in reply
    assert first.shipment.tracking_url in reply
    assert first.status_note in reply

    # A second order in the same conversation: the verified e-mail is kept.
    reply = texts(bot_stack.say(sender, f"and where is order {second.number}?"))
    assert second.shipment.carrier in reply and second.shipment.tracking_number in reply
    assert "customs inspection" in reply  # the delay is explained

    # The conversation persisted in the SQL tracker store; the turns are in the CRM history.
    tracker = bot_stack.tracker(sender)
    assert tracker["slots"]["verified_order"] == second.number
    db = bot_stack.env["TRACKER_DB"]
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT count(*) FROM events WHERE sender_id = ?", (sender,)
        ).fetchone()
    assert rows[0] > 10
    recorded = interactions(bot_store, sender)
    assert {n for _, _, n in recorded} == {first.number, second.number}
    assert all(ANNA not in text for _, text, _ in recorded)
