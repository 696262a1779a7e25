"""Form validation, and junk in order numbers: always the normal "can't find that order" path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.cancel import ActionPrepareCancel
from actions.forms import ValidateCancelForm, ValidateOrderStatusForm, ValidateReturnForm
from actions.orders import ActionCheckOrderStatus
from actions.returns import ActionStartReturn
from store.repository import OrderStore
from tests.support.store import ANNA
from tests.support.trackers import make_tracker, responses, slot_sets

ROOT = Path(__file__).resolve().parents[2]

JUNK_ORDER_NUMBERS = {
    "sql": "A10001' OR '1'='1'; DROP TABLE orders; --",
    "sql_plain": "1; DELETE FROM customers",
    "html": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "long": "A" * 10_000,
    "long_digits": "9" * 10_000,
    "emoji": "📦🚚 A1OOO1 🙈",
    "rtl": "\u202eA10001\u202c رقم الطلب ١٠٠٠١",
    "arabic_digits": "A١٠٠٠١",
    "null_byte": "A1000\x001",
    "whitespace": "   \t\n  ",
}
# What the form sees contains no well-formed order number at all.
FORM_JUNK = dict(
    JUNK_ORDER_NUMBERS,
    sql="' OR '1'='1'; DROP TABLE orders; --",
    rtl="\u202eرقم الطلب ١٠٠٠١\u202c",
)


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return dict(Domain.load(str(ROOT / "domain")).as_dict())


async def validate(
    form: Any, domain: dict[str, Any], **extracted: Any
) -> tuple[list[str], dict]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(intent="inform", text=str(next(iter(extracted.values()))),
                           active_loop=form.form_name(), slot_events=extracted)
    events = await form.run(dispatcher, tracker, domain)
    return responses(dispatcher.messages), slot_sets(events)


@pytest.mark.parametrize("form", [ValidateOrderStatusForm(), ValidateCancelForm(),
                                  ValidateReturnForm()], ids=lambda f: f.name())
async def test_well_formed_order_number_is_normalised(form: Any, domain: dict) -> None:
    names, slots = await validate(form, domain, order_number="my order is a10234 thanks")
    assert names == []
    assert slots["order_number"] == "A10234"


async def test_email_is_picked_out_of_a_sentence(domain: dict) -> None:
    names, slots = await validate(ValidateOrderStatusForm(), domain,
                                  email="sure, it's anna.berg@example.com!")
    assert names == [] and slots["email"] == "anna.berg@example.com"


@pytest.mark.parametrize("text", ["not an email", "anna@", "@example.com", "x" * 10_000])
async def test_bad_email_is_asked_again(domain: dict, text: str) -> None:
    names, slots = await validate(ValidateOrderStatusForm(), domain, email=text)
    assert names == ["utter_email_invalid"] and slots["email"] is None


@pytest.mark.parametrize("junk", FORM_JUNK.values(), ids=FORM_JUNK.keys())
async def test_junk_order_number_in_the_form_gets_cant_find(junk: str, domain: dict) -> None:
    names, slots = await validate(ValidateOrderStatusForm(), domain, order_number=junk)
    assert names == ["utter_order_number_invalid"]
    assert slots["order_number"] is None


async def test_only_the_order_number_survives_around_junk(domain: dict) -> None:
    names, slots = await validate(ValidateOrderStatusForm(), domain,
                                  order_number=JUNK_ORDER_NUMBERS["sql"])
    assert names == [] and slots["order_number"] == "A10001"


@pytest.mark.parametrize("junk", JUNK_ORDER_NUMBERS.values(), ids=JUNK_ORDER_NUMBERS.keys())
@pytest.mark.parametrize("action", [ActionCheckOrderStatus(), ActionPrepareCancel(),
                                    ActionStartReturn()], ids=lambda a: a.name())
def test_junk_order_number_reaching_an_action_gets_not_found(
    junk: str, action: Any, test_store: OrderStore
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"order_number": junk, "email": ANNA}, text=junk)
    events = action.run(dispatcher, tracker, {})
    assert responses(dispatcher.messages) == ["utter_order_not_found"]
    assert slot_sets(events)["failed_verifications"] == 1.0


def test_order_number_given_as_a_list_uses_the_first(test_store: OrderStore) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots={"order_number": ["A10001", "A10002"], "email": ANNA})
    ActionCheckOrderStatus().run(dispatcher, tracker, {})
    assert dispatcher.messages[0]["order_number"] == "A10001"
