"""The order forms on the e-mail channel: the sender's address (sealed in the message metadata by
mail.channel) is the e-mail given, against a real store."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from actions.forms import ValidateCancelForm, ValidateOrderStatusForm, sender_email
from actions.verification import ActionCheckOrderStatus
from nordvik.secrets import seal
from store.repository import OrderStore
from tests.actions.helpers import all_text, names, run, slots_of
from tests.support.store import ANNA, ERIK, ORDERS
from tests.support.trackers import make_tracker

FORM = "order_status_form"
ANNAS = ORDERS["in_transit"].number
ERIKS = ORDERS["erik_in_transit"].number
UNKNOWN = "A99999"


def mail_tracker(*, sender: str | None, extracted: dict[str, Any], text: str = "",
                 channel: str = "email", form: str = FORM, slots: dict[str, Any] | None = None,
                 sealed: str | None = None) -> Any:
    """A tracker inside an order form after a mail (or a chat message) from `sender`."""
    metadata: dict[str, Any] = {"client": "mail-client-1", "language": "en"}
    if sender is not None or sealed is not None:
        metadata["sender"] = sealed or seal(str(sender), purpose="email")
    return make_tracker(
        text=text or " ".join(str(v) for v in extracted.values()), intent="check_order_status",
        active_loop=form, sender_id="email-conv-1", input_channel=channel, metadata=metadata,
        slots={"requested_slot": "order_number", **(slots or {})}, slot_events=extracted,
    )


async def test_the_senders_own_order_is_verified_without_asking_for_an_email(
        test_store: OrderStore, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    tracker = mail_tracker(sender=ANNA, extracted={"order_number": ANNAS})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    slots = slots_of(events)
    assert messages == []
    assert slots["verified_order"] == ANNAS
    assert slots["requested_slot"] is None  # the form is complete: no e-mail question
    assert "anna.berg" not in all_text(events).lower()
    assert "anna.berg" not in caplog.text.lower()

    done = mail_tracker(sender=ANNA, extracted={}, slots=slots)
    said, _ = await run(ActionCheckOrderStatus(), done)
    assert names(said) == ["utter_order_in_transit"]


async def test_the_form_asks_only_for_the_order_number_by_email(test_store: OrderStore) -> None:
    tracker = mail_tracker(sender=ANNA, extracted={}, slots={"requested_slot": None})
    form = ValidateOrderStatusForm()
    required = await form.required_slots([], None, tracker, {})  # type: ignore[arg-type]
    assert required == ["order_number"]
    chat = mail_tracker(sender=ANNA, extracted={}, channel="rest")
    assert await form.required_slots([], None, chat, {}) == [  # type: ignore[arg-type]
        "order_number", "email"]


@pytest.mark.parametrize("form", [ValidateOrderStatusForm(), ValidateCancelForm()],
                         ids=["status", "cancel"])
async def test_another_customers_order_gets_exactly_the_unknown_order_reply(
        test_store: OrderStore, form: Any) -> None:
    replies = {}
    for number in (ERIKS, UNKNOWN):
        tracker = mail_tracker(sender=ANNA, extracted={"order_number": number},
                               form=form.form_name())
        messages, events = await run(form, tracker)
        slots = slots_of(events)
        assert "verified_order" not in slots
        assert slots["order_number"] is None
        assert slots["requested_slot"] == "order_number"  # asked for the number again
        for message in messages:
            message.pop("order_number", None)
        replies[number] = (messages, {k: v for k, v in slots.items() if k != "order_number"})
    assert names(replies[ERIKS][0]) == ["utter_order_not_found"]
    assert replies[ERIKS] == replies[UNKNOWN]


async def test_an_address_typed_in_the_mail_is_never_used(test_store: OrderStore) -> None:
    # Someone writes from their own address, naming Erik's order and Erik's address.
    tracker = mail_tracker(sender="mallory@example.org",
                           extracted={"order_number": ERIKS, "email": ERIK},
                           text=f"Where is {ERIKS}? My e-mail is {ERIK}")
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    slots = slots_of(events)
    assert names(messages) == ["utter_order_not_found"]
    assert "verified_order" not in slots
    assert slots["email"] is None  # the typed address is dropped, not held


async def test_the_metadata_sender_counts_only_on_the_email_channel(
        test_store: OrderStore) -> None:
    chat = mail_tracker(sender=ANNA, extracted={"order_number": ANNAS}, channel="rest")
    assert sender_email(chat) is None
    messages, events = await run(ValidateOrderStatusForm(), chat)
    slots = slots_of(events)
    assert messages == []
    assert slots["order_number"] == ANNAS and "verified_order" not in slots
    # both slots required, as in the domain: Rasa's form asks for the e-mail next
    assert "requested_slot" not in slots


@pytest.mark.parametrize("sealed", ["anna.berg@example.com", "sealed:v1:forged", "[e-mail]"],
                         ids=["plain address", "forged", "masked"])
async def test_a_sender_that_is_not_sealed_for_email_is_no_sender(
        test_store: OrderStore, sealed: str) -> None:
    tracker = mail_tracker(sender=None, sealed=sealed, extracted={"order_number": ANNAS})
    assert sender_email(tracker) is None
    other_purpose = mail_tracker(sender=None, sealed=seal(ANNA, purpose="tracker-slot"),
                                 extracted={"order_number": ANNAS})
    assert sender_email(other_purpose) is None
    _, events = await run(ValidateOrderStatusForm(), tracker)
    assert "verified_order" not in slots_of(events)
