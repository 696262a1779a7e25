"""The order forms' validation (verify-then-act) and their questions, against a real store."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

import store
from actions.forms import (
    ActionAskEmail,
    ActionAskOrderNumber,
    ValidateCancelForm,
    ValidateOrderStatusForm,
    ValidateReturnForm,
)
from actions.verification import ActionCheckOrderStatus
from nordvik.secrets import unseal
from store.models import FailedVerification
from store.repository import OrderStore
from tests.actions.helpers import all_text, domain_dict, names, run, slots_of
from tests.support.store import ANNA, ERIK, ORDERS
from tests.support.trackers import bot_event, make_tracker, user_event

FORM = "order_status_form"
IN_TRANSIT = ORDERS["in_transit"].number  # Anna's
PAID = ORDERS["paid"].number  # Anna's too
ERIKS = ORDERS["erik_in_transit"].number
UNKNOWN = "A99999"
WRONG_EMAIL = "someone.else@example.org"


def customer_of(crm: OrderStore, number: str) -> float:
    found = crm.customer_id_for_order(number)
    assert found is not None
    return float(found)


def form_tracker(*, requested: str, extracted: dict[str, Any], slots: dict[str, Any] | None = None,
                 text: str = "", sender_id: str = "conv-forms", client: str | None = "client-1",
                 **kwargs: Any) -> Any:
    """A tracker inside the order status form, after the customer answered `requested`."""
    return make_tracker(
        text=text or " ".join(str(v) for v in extracted.values()), intent="inform",
        active_loop=FORM, sender_id=sender_id,
        slots={"requested_slot": requested, **(slots or {})}, slot_events=extracted,
        metadata={"client": client} if client else {}, **kwargs,
    )


def failures(crm: OrderStore) -> list[tuple[str | None, str | None, str]]:
    with Session(crm.engine, future=True) as session:
        rows = session.execute(select(FailedVerification).order_by(FailedVerification.id))
        return [(r.order_number, r.client, r.conversation_id) for r in rows.scalars()]


# --- the pair ---------------------------------------------------------------------------------


async def test_a_right_pair_verifies_and_keeps_no_address(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                           extracted={"email": "Anna.Berg@Example.com"})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert messages == []
    slots = slots_of(events)
    assert slots["email"] is None
    assert slots["order_number"] == IN_TRANSIT
    assert slots["verified_order"] == IN_TRANSIT
    assert slots["verified_customer"] == customer_of(test_store, IN_TRANSIT)
    assert slots["requested_slot"] is None  # nothing left to ask: the form ends
    assert "failed_verifications" not in slots and "verification_locked" not in slots
    assert "anna.berg" not in all_text(events).lower()
    assert "anna.berg" not in caplog.text.lower()
    assert failures(test_store) == []


async def test_the_verified_customers_language_becomes_the_conversations_when_none_is_set(
        test_store: OrderStore) -> None:
    unset = form_tracker(requested="email", slots={"order_number": ERIKS},
                         extracted={"email": ERIK})
    _, events = await run(ValidateOrderStatusForm(), unset)
    assert slots_of(events)["language"] == "nb"  # Erik's language in the store
    already = form_tracker(requested="email", slots={"order_number": ERIKS, "language": "en"},
                           extracted={"email": ERIK})
    _, events = await run(ValidateOrderStatusForm(), already)
    assert "language" not in slots_of(events)
    assert slots_of(events)["verified_order"] == ERIKS


@pytest.mark.parametrize(("number", "email"), [(IN_TRANSIT, WRONG_EMAIL), (UNKNOWN, ANNA)],
                         ids=["wrong e-mail", "unknown order"])
async def test_a_wrong_pair_and_an_unknown_order_get_the_same_reply_and_slots(
        test_store: OrderStore, number: str, email: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = form_tracker(requested="email", slots={"order_number": number},
                           extracted={"email": email})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert names(messages) == ["utter_order_not_found"]
    assert messages[0]["order_number"] == number
    # the order number is kept (not re-set), the e-mail is cleared, one more failure counted
    assert [(e["name"], e["value"]) for e in events if e["event"] == "slot"] == [
        ("email", None), ("failed_verifications", 1.0)]
    assert tracker.get_slot("order_number") == number
    assert failures(test_store) == [(number, "client-1", "conv-forms")]
    assert email.lower() not in caplog.text.lower()
    assert email.lower() not in all_text(events).lower()


async def test_the_third_failure_locks_the_conversation(test_store: OrderStore) -> None:
    tracker = form_tracker(requested="email",
                           slots={"order_number": IN_TRANSIT, "failed_verifications": 2.0},
                           extracted={"email": WRONG_EMAIL})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert messages == []  # the locked reply comes from the action after the form
    slots = slots_of(events)
    assert slots["failed_verifications"] == 3.0 and slots["verification_locked"] is True
    assert slots["email"] is None and slots["requested_slot"] is None
    assert "verified_order" not in slots
    # the form has ended; the status action says why and offers a person
    after = make_tracker(slots={"verification_locked": True, "order_number": IN_TRANSIT})
    messages, events = await run(ActionCheckOrderStatus(), after)
    assert names(messages) == ["utter_verification_locked", "utter_offer_human"]
    assert slots_of(events) == {"order_number": None, "email": None,
                                "pending_question": "human_offer",
                                "human_offer_reason": "verification_locked"}


async def test_a_locked_conversation_asks_for_nothing(test_store: OrderStore) -> None:
    tracker = form_tracker(requested="order_number", slots={"verification_locked": True},
                           extracted={"order_number": IN_TRANSIT})
    action = ValidateOrderStatusForm()
    assert await action.required_slots(["order_number", "email"], CollectingDispatcher(),
                                       tracker, domain_dict()) == []


# --- the e-mail first ---------------------------------------------------------------------------


async def test_an_email_before_the_number_is_held_sealed_then_verified(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    first = form_tracker(requested="order_number", extracted={"email": ANNA},
                         text=f"it's {ANNA}")
    messages, events = await run(ValidateOrderStatusForm(), first)
    assert messages == []
    held = slots_of(events)["email"]
    assert isinstance(held, str) and held.startswith("sealed:v1:")
    assert ANNA not in all_text(events)
    assert unseal(held, purpose="email") == ANNA
    assert "verified_order" not in slots_of(events)

    second = form_tracker(requested="order_number", slots={"email": held},
                          extracted={"order_number": IN_TRANSIT})
    messages, events = await run(ValidateOrderStatusForm(), second)
    assert messages == []
    slots = slots_of(events)
    assert slots["verified_order"] == IN_TRANSIT and slots["email"] is None
    assert slots["requested_slot"] is None
    assert ANNA not in caplog.text


async def test_a_held_email_with_a_wrong_number_fails_like_any_pair(
        test_store: OrderStore) -> None:
    first = form_tracker(requested="order_number", extracted={"email": ANNA})
    _, events = await run(ValidateOrderStatusForm(), first)
    held = slots_of(events)["email"]
    second = form_tracker(requested="order_number", slots={"email": held},
                          extracted={"order_number": ERIKS})
    messages, events = await run(ValidateOrderStatusForm(), second)
    assert names(messages) == ["utter_order_not_found"]
    slots = slots_of(events)
    assert slots["order_number"] == ERIKS and slots["email"] is None
    assert slots["failed_verifications"] == 1.0 and "verified_order" not in slots


async def test_a_forged_sealed_value_is_not_an_email(test_store: OrderStore) -> None:
    forged = form_tracker(requested="order_number", slots={"email": "sealed:v1:not-a-token"},
                          extracted={"order_number": IN_TRANSIT})
    messages, events = await run(ValidateOrderStatusForm(), forged)
    assert messages == []
    assert "verified_order" not in slots_of(events)
    assert slots_of(events)["order_number"] == IN_TRANSIT


async def test_number_and_email_in_one_message_verify_in_either_order(
        test_store: OrderStore) -> None:
    for extracted in ({"order_number": IN_TRANSIT, "email": ANNA},
                      {"email": ANNA, "order_number": IN_TRANSIT}):
        tracker = form_tracker(requested="order_number", extracted=extracted)
        messages, events = await run(ValidateOrderStatusForm(), tracker)
        assert messages == []
        assert slots_of(events)["verified_order"] == IN_TRANSIT
        assert slots_of(events)["email"] is None


async def test_an_invalid_email_is_asked_again(test_store: OrderStore) -> None:
    tracker = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                           extracted={"email": "I don't remember"})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert names(messages) == ["utter_email_invalid"]
    assert slots_of(events) == {"email": None}
    assert failures(test_store) == []


# --- an order in hand ---------------------------------------------------------------------------


async def test_an_order_in_hand_needs_no_questions(test_store: OrderStore) -> None:
    verified = {"verified_order": IN_TRANSIT,
                "verified_customer": customer_of(test_store, IN_TRANSIT)}
    action = ValidateCancelForm()
    for asked in (None, IN_TRANSIT):
        tracker = make_tracker(slots={**verified, "order_number": asked}, active_loop="cancel_form")
        assert await action.required_slots(["order_number", "email"], CollectingDispatcher(),
                                           tracker, domain_dict()) == []
    other = make_tracker(slots={**verified, "order_number": PAID}, active_loop="cancel_form")
    assert await action.required_slots(["order_number", "email"], CollectingDispatcher(), other,
                                       domain_dict()) == ["order_number", "email"]
    # the verified number typed again: no check, the form ends
    again = form_tracker(requested="order_number", slots=verified,
                         extracted={"order_number": IN_TRANSIT.lower()})
    messages, events = await run(ValidateOrderStatusForm(), again)
    assert messages == [] and slots_of(events) == {"requested_slot": None}
    assert failures(test_store) == []


async def test_an_address_typed_while_the_order_is_in_hand_is_dropped(
        test_store: OrderStore) -> None:
    verified = {"verified_order": IN_TRANSIT,
                "verified_customer": customer_of(test_store, IN_TRANSIT)}
    tracker = form_tracker(requested="order_number", slots=verified, extracted={"email": ANNA})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert messages == []
    assert events[-1] == SlotSet("email", None)
    assert slots_of(events)["email"] is None


async def test_a_different_order_number_needs_its_own_email(test_store: OrderStore) -> None:
    # A10001 verified with Anna's address; A10002 is Anna's too, but the address is not reused
    first = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                         extracted={"email": ANNA})
    _, events = await run(ValidateOrderStatusForm(), first)
    after = {**slots_of(events)}
    after.pop("requested_slot", None)
    assert after["email"] is None
    second = form_tracker(requested="order_number", slots=after,
                          extracted={"order_number": PAID})
    messages, events = await run(ValidateOrderStatusForm(), second)
    assert messages == []
    slots = slots_of(events)
    assert slots == {"order_number": PAID}  # no verification without this order's e-mail
    assert await ValidateOrderStatusForm().required_slots(
        ["order_number", "email"], CollectingDispatcher(), second, domain_dict()
    ) == ["order_number", "email"]
    asked, _ = await run(ActionAskEmail(), second)
    assert names(asked) == ["utter_ask_email"] and asked[0]["order_number"] == PAID


# --- junk ---------------------------------------------------------------------------------------

JUNK = {
    "sql": "'; DROP TABLE orders; --",
    "sql with a short number": "A1' OR '1'='1",
    "html": "<script>alert('A1234')</script>",
    "10,000 characters": "A" + "1" * 9999,
    "10,000 letters": "x" * 10_000,
    "emoji": "📦🚚😡📦",
    "right-to-left override": "\u202e54321A",
    "arabic": "رقم الطلب ١٢٣٤٥",
    "embedded NUL": "A12\x00345",
    "six digits": "A123456",
    "four digits": "A1234",
    "empty": "",
}


@pytest.mark.parametrize("junk", list(JUNK.values()), ids=list(JUNK))
async def test_junk_order_numbers_take_the_invalid_path(test_store: OrderStore,
                                                        junk: str) -> None:
    tracker = form_tracker(requested="order_number", extracted={"order_number": junk})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    assert names(messages) == ["utter_order_number_invalid"]
    assert slots_of(events) == {"order_number": None}
    assert failures(test_store) == []


async def test_a_full_width_order_number_is_valid(test_store: OrderStore) -> None:
    tracker = form_tracker(requested="order_number", extracted={"order_number": "Ａ１００１２"})
    messages, events = await run(ValidateReturnForm(), tracker)
    assert messages == []
    assert slots_of(events) == {"order_number": "A10012"}
    # Normalised once, where it entered: later steps take the slot's canonical value as it is
    # and never verify against anything else.
    canonical = form_tracker(requested="email", slots={"order_number": "A10001"},
                             extracted={"email": ANNA})
    _, events = await run(ValidateReturnForm(), canonical)
    assert slots_of(events)["verified_order"] == IN_TRANSIT
    unvalidated = form_tracker(requested="email", slots={"order_number": "Ａ１０００１"},
                               extracted={"email": ANNA})
    _, events = await run(ValidateReturnForm(), unvalidated)
    assert "verified_order" not in slots_of(events)


# --- the limits across conversations ------------------------------------------------------------


async def test_failures_in_other_conversations_lock_the_order(test_store: OrderStore) -> None:
    limit = test_store.verification_limits.max_per_order
    for i in range(limit):
        tracker = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                               extracted={"email": WRONG_EMAIL}, sender_id=f"other-{i}",
                               client=f"client-{i}")
        messages, _ = await run(ValidateOrderStatusForm(), tracker)
        assert names(messages) == ["utter_order_not_found"]
    assert test_store.verification_blocked(order_number=IN_TRANSIT, client=None)
    fresh = form_tracker(requested="order_number", extracted={"order_number": IN_TRANSIT},
                         sender_id="new-conversation", client="new-client")
    messages, events = await run(ValidateOrderStatusForm(), fresh)
    assert messages == []
    assert slots_of(events) == {"order_number": IN_TRANSIT, "email": None,
                                "verification_locked": True, "requested_slot": None}
    # even the right address does not verify a locked order
    right = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                         extracted={"email": ANNA}, sender_id="new-conversation")
    messages, events = await run(ValidateOrderStatusForm(), right)
    assert "verified_order" not in slots_of(events)
    assert slots_of(events)["verification_locked"] is True
    # another order of the same customer is not locked
    other = form_tracker(requested="order_number", extracted={"order_number": PAID},
                         sender_id="new-conversation", client="new-client")
    _, events = await run(ValidateOrderStatusForm(), other)
    assert slots_of(events) == {"order_number": PAID}


async def test_failures_of_one_client_lock_that_client(test_store: OrderStore) -> None:
    for i in range(test_store.verification_limits.max_per_client):
        test_store.record_failed_verification(order_number=f"A3{i:04d}", client="noisy",
                                              conversation_id=f"c{i}")
    locked = form_tracker(requested="order_number", extracted={"order_number": PAID},
                          client="noisy")
    _, events = await run(ValidateOrderStatusForm(), locked)
    assert slots_of(events)["verification_locked"] is True
    other_client = form_tracker(requested="order_number", extracted={"order_number": PAID},
                                client="quiet")
    _, events = await run(ValidateOrderStatusForm(), other_client)
    assert "verification_locked" not in slots_of(events)


async def test_the_store_down_during_a_check_is_said_and_nothing_is_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    store.get_store.cache_clear()
    try:
        tracker = form_tracker(requested="email", slots={"order_number": IN_TRANSIT},
                               extracted={"email": ANNA})
        messages, events = await run(ValidateOrderStatusForm(), tracker)
    finally:
        store.get_store.cache_clear()
    assert names(messages) == ["utter_store_unavailable"]
    slots = slots_of(events)
    assert slots["email"] is None and slots["order_number"] is None
    assert "verified_order" not in slots and "failed_verifications" not in slots


# --- the questions ------------------------------------------------------------------------------


async def test_the_questions_are_asked_normally() -> None:
    tracker = make_tracker(active_loop=FORM, turn_actions=["action_extract_slots"])
    messages, events = await run(ActionAskOrderNumber(), tracker)
    assert names(messages) == ["utter_ask_order_number"] and events == []
    with_number = make_tracker(active_loop=FORM, slots={"order_number": IN_TRANSIT},
                               turn_actions=["action_extract_slots",
                                             "validate_order_status_form"])
    messages, _ = await run(ActionAskEmail(), with_number)
    assert names(messages) == ["utter_ask_email"]
    assert messages[0]["order_number"] == IN_TRANSIT


@pytest.mark.parametrize("digression", ["utter_faq", "action_knowledge_search", "utter_greet",
                                        "action_change_language"])
async def test_after_a_digression_in_the_same_turn_the_form_reminds(digression: str) -> None:
    tracker = make_tracker(active_loop=FORM, slots={"order_number": IN_TRANSIT},
                           turn_actions=["action_extract_slots", digression])
    messages, _ = await run(ActionAskOrderNumber(), tracker)
    assert names(messages) == ["utter_remind_order_number"]
    messages, _ = await run(ActionAskEmail(), tracker)
    assert names(messages) == ["utter_remind_email"]
    assert messages[0]["order_number"] == IN_TRANSIT


async def test_a_digression_in_an_earlier_turn_does_not_make_a_reminder() -> None:
    history = [user_event("how long does shipping take?", "faq"), {"event": "action",
               "name": "utter_faq"}, bot_event("utter_faq/shipping_times")]
    tracker = make_tracker(active_loop=FORM, history=history,
                           turn_actions=["action_extract_slots"])
    messages, _ = await run(ActionAskOrderNumber(), tracker)
    assert names(messages) == ["utter_ask_order_number"]


def test_each_form_has_its_validation() -> None:
    assert {ValidateOrderStatusForm().name(), ValidateCancelForm().name(),
            ValidateReturnForm().name()} == {
        f"validate_{form}" for form in domain_dict()["forms"]}
    assert ActionAskOrderNumber().name() == "action_ask_order_number"
    assert ActionAskEmail().name() == "action_ask_email"
