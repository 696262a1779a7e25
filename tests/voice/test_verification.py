"""The order forms on the phone: the caller's own number proves the order; otherwise the
delivery postcode (sealed by the channel), counted like a wrong e-mail. Real SQLite store."""

from __future__ import annotations

from typing import Any

import pytest

from actions.forms import ValidateOrderStatusForm
from actions.verification import channel_phone
from nordvik.secrets import seal
from store.repository import OrderStore
from tests.actions.helpers import names, run, slots_of
from tests.support.store import ORDERS
from tests.support.trackers import make_tracker

ANNAS = ORDERS["in_transit"].number
ANNAS_PHONE = "+46701112233"


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORDVIK_SECRET_KEY", "test-master-key-for-the-voice-tests-0123456789")
    for name in ("VERIFY_MAX_PER_ORDER", "VERIFY_MAX_PER_CLIENT", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def phone_tracker(*, phone: str | None, extracted: dict[str, Any], channel: str = "phone",
                  requested: str = "order_number", slots: dict[str, Any] | None = None) -> Any:
    metadata: dict[str, Any] = {"client": "phone-client-1", "language": "sv"}
    if phone is not None:
        metadata["phone"] = phone
    return make_tracker(text="A10001", intent="inform", active_loop="order_status_form",
                        sender_id="phone-conv-1", input_channel=channel, metadata=metadata,
                        slots={"requested_slot": requested, **(slots or {})},
                        slot_events=extracted)


async def test_the_callers_own_number_proves_the_order(test_store: OrderStore) -> None:
    tracker = phone_tracker(phone=ANNAS_PHONE, extracted={"order_number": ANNAS})
    messages, events = await run(ValidateOrderStatusForm(), tracker)
    slots = slots_of(events)
    assert messages == [] and slots["verified_order"] == ANNAS
    assert slots["requested_slot"] is None


@pytest.mark.parametrize(("phone", "channel"), [
    ("+46701112299", "phone"),  # another number
    (None, "phone"),  # withheld
    (ANNAS_PHONE, "rest"),  # a claimed number on a channel that proves none
])
async def test_no_proof_asks_for_the_second_factor(test_store: OrderStore, phone: str | None,
                                                   channel: str) -> None:
    tracker = phone_tracker(phone=phone, extracted={"order_number": ANNAS}, channel=channel)
    _, events = await run(ValidateOrderStatusForm(), tracker)
    slots = slots_of(events)
    assert slots.get("verified_order") is None and slots["order_number"] == ANNAS


def test_channel_phone_only_from_proving_channels() -> None:
    assert channel_phone(phone_tracker(phone="+46 70 111 22 33", extracted={})) == ANNAS_PHONE
    assert channel_phone(phone_tracker(phone=ANNAS_PHONE, extracted={}, channel="rest")) is None
    assert channel_phone(phone_tracker(phone="anonymous", extracted={})) is None


async def test_the_postcode_proves_the_order_and_a_wrong_one_counts(
        test_store: OrderStore) -> None:
    asked = {"order_number": ANNAS}
    wrong = phone_tracker(phone=None, requested="email", slots=asked,
                          extracted={"email": seal("11123", purpose="postcode")})
    messages, events = await run(ValidateOrderStatusForm(), wrong)
    assert names(messages)[0] == "utter_order_not_found"
    assert slots_of(events)["failed_verifications"] == 1.0
    right = phone_tracker(phone=None, requested="email", slots=asked,
                          extracted={"email": seal("111 22", purpose="postcode")})
    _, events = await run(ValidateOrderStatusForm(), right)
    assert slots_of(events)["verified_order"] == ANNAS
    plain = phone_tracker(phone=None, requested="email", slots=asked,
                          extracted={"email": "11122"})  # not sealed by the channel: no proof
    messages, events = await run(ValidateOrderStatusForm(), plain)
    assert names(messages)[0] == "utter_email_invalid"
    assert slots_of(events).get("verified_order") is None
