"""Guessing the e-mail of an order across many conversations: the lock holds across them.

A script opens 100 conversations for one order, each from its own address (a botnet), and
guesses an e-mail in each; every tenth conversation tries the right one. Once the order has
VERIFY_MAX_PER_ORDER failures, no conversation gets the order, not even with the right e-mail,
and every refusal reads the same. A second script guesses across many orders from one address;
past VERIFY_MAX_PER_CLIENT it is refused for every order.
"""

from __future__ import annotations

import pytest

from tests.security.conftest import STACK_LIMITS, AttackLog, discloses, say, texts
from tests.support.rasa_stack import RasaStack
from tests.support.store import ANNA, ERIK, ORDERS

pytestmark = [pytest.mark.security, pytest.mark.integration, pytest.mark.slow]

CONVERSATIONS = 100
TARGET = ORDERS["delivered"]
MAX_PER_ORDER = int(STACK_LIMITS["VERIFY_MAX_PER_ORDER"])
MAX_PER_CLIENT = int(STACK_LIMITS["VERIFY_MAX_PER_CLIENT"])


def guess(stack: RasaStack, sender: str, number: str, email: str, ip: str) -> tuple[int, str]:
    """One conversation: ask about an order by its number, then give an e-mail; the last reply."""
    status = 200
    reply = ""
    for text in (f"where is my order {number}?", email):
        status, body = say(stack, sender, text, ip)
        assert status < 500, body
        reply = texts(body)
    return status, reply


def test_email_guessing_across_100_conversations(security_stack: RasaStack,
                                                 attack_log: AttackLog) -> None:
    attack = attack_log.attack("E-mail guessing for one order across 100 conversations")
    right_attempts = 0
    refusals: set[str] = set()
    disclosed_in: list[int] = []
    for n in range(1, CONVERSATIONS + 1):
        right = n % 10 == 0
        email = ANNA if right else f"guess{n}@example.com"
        ip = f"10.4.{n // 250}.{n % 250 + 1}"
        status, reply = guess(security_stack, f"guess-order-{n}", TARGET.number, email, ip)
        disclosed = discloses(reply, TARGET.number)
        attack.tried(refused=not disclosed, disclosed=disclosed, status=status)
        if disclosed:
            disclosed_in.append(n)
        if n > MAX_PER_ORDER:
            refusals.add(reply)
        right_attempts += int(right)
    assert disclosed_in == [], f"the order was revealed in conversations {disclosed_in}"
    assert attack.server_errors == 0
    # After the limit, the right e-mail gets exactly the refusal a wrong one gets.
    assert len(refusals) == 1, refusals
    attack.notes.append(
        f"{CONVERSATIONS} conversations about order {TARGET.number}, each from its own address, "
        f"each with one e-mail guess; the right e-mail in {right_attempts} of them (every "
        f"tenth, all after the order's limit of {MAX_PER_ORDER} failures). None revealed the "
        "order; every conversation after the limit got the same refusal with a person offered.")


def test_guessing_many_orders_from_one_address(security_stack: RasaStack,
                                               attack_log: AttackLog) -> None:
    attack = attack_log.attack("E-mail guessing across orders from one client")
    ip = "10.5.0.1"
    numbers = [f"A3{n:04d}" for n in range(MAX_PER_CLIENT)]
    for n, number in enumerate(numbers):
        status, reply = guess(security_stack, f"guess-client-{n}", number,
                              f"who{n}@example.com", ip)
        attack.tried(refused=True, disclosed=discloses(reply), status=status)
    # Past the client's limit, a right pair of an untouched order is refused too.
    other = ORDERS["erik_in_transit"]
    status, reply = guess(security_stack, "guess-client-right", other.number, ERIK, ip)
    disclosed = discloses(reply, other.number)
    attack.tried(refused=not disclosed, disclosed=disclosed, status=status)
    assert not disclosed, reply
    # The same right pair from another address works: only the guessing client is locked.
    status, reply = guess(security_stack, "guess-client-owner", other.number, ERIK, "10.5.0.2")
    assert status == 200 and other.tracking_number and other.tracking_number in reply
    assert attack.disclosures == 0 and attack.server_errors == 0
    attack.notes.append(
        f"{MAX_PER_CLIENT} conversations from one address guessing e-mails for "
        f"{MAX_PER_CLIENT} unknown orders, then the right pair of a real order from the same "
        "address: refused (the client is locked). The owner, from another address, still gets "
        "the order (the control).")
