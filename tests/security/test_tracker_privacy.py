"""A whole order conversation over REST: verified, answered, and no e-mail address at rest in
the tracker store (only the store's customer table holds it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.security.conftest import AttackLog, say, texts
from tests.support.rasa_stack import RasaStack
from tests.support.store import ANNA, ORDERS

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]


def test_an_order_conversation_leaves_no_address_in_the_tracker_store(
    security_stack: RasaStack, attack_log: AttackLog
) -> None:
    first, second = ORDERS["delayed"], ORDERS["shipped"]
    sender = "privacy-order-conversation"
    ip = "10.8.0.1"
    say(security_stack, sender, "hi", ip)
    say(security_stack, sender, "where is my order?", ip)
    say(security_stack, sender, first.number, ip)
    status, replies = say(security_stack, sender, f"it's {ANNA.upper()}", ip)
    assert status == 200 and first.tracking_number and first.tracking_number in texts(replies)
    # A second order in the same conversation (the address is asked again: the bot clears it
    # once an order is verified).
    say(security_stack, sender, f"and where is order {second.number}?", ip)
    status, replies = say(security_stack, sender, ANNA, ip)
    assert status == 200 and second.tracking_number and second.tracking_number in texts(replies)

    db = Path(security_stack.env["TRACKER_DB"])
    raw = db.read_bytes().lower()
    with sqlite3.connect(db) as conn:
        rows = [r[0] for r in conn.execute(
            "SELECT data FROM events WHERE sender_id = ?", (sender,))]
    assert len(rows) > 10
    stored = "\n".join(rows).lower()
    assert ANNA not in stored and ANNA.encode() not in raw
    assert "[e-mail]" in stored
    attack = attack_log.attack("E-mail addresses at rest in the tracker store")
    attack.tried(refused=True, disclosed=ANNA in stored)
    attack.notes.append(
        f"A customer checked two orders in one conversation over REST, typing the address "
        f"twice, once in capitals ({len(rows)} events stored): both were answered, and neither "
        "the event rows nor the raw SQLite file hold the address; texts and entities show "
        "[e-mail], the address slot is sealed.")
