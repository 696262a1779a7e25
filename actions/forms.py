"""The three order forms (status, cancel, return): their questions and their validation.

Validation checks the pair as soon as the form has both the order number and the e-mail
(actions/verification.py): a wrong pair asks for the e-mail again and keeps the order number, so
the customer can correct either; the e-mail is never kept once checked (while the number is still
missing it is held sealed). A verified order in hand needs no second check. Anything that is
not an order number (SQL, HTML, emoji, right-to-left text, 10,000 characters) gets the "that is
not an order number" reply. After a digression (an FAQ answer, a knowledge answer, ...) the form
asks again with a short reminder of what it still needs.

On the e-mail channel the sender's address (sealed by mail.channel in the message metadata
`sender`) is the e-mail given: the form asks only for the order number, an address typed in the
mail is never used, and an order that is not the sender's gets exactly the reply an unknown order
gets, then the question for the order number again.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import actions_this_turn, channel_of, order_store, slot_text
from actions.verification import (
    SLOT_EMAIL,
    SLOT_LOCKED,
    SLOT_ORDER_NUMBER,
    SLOT_VERIFIED_ORDER,
    check_channel_phone,
    check_pair,
    check_postcode,
    client_of,
    is_locked,
    order_in_hand,
)
from nordvik.orders import canonical_order_number, find_order_number
from nordvik.secrets import seal, unseal
from nordvik.text import find_email
from store.errors import StoreError

logger = logging.getLogger(__name__)

EMAIL_PURPOSE = "email"
POSTCODE_PURPOSE = "postcode"  # sealed by the phone channel (voice/speech.py)
# Actions that belong to a form's own turn; anything else before the question is a digression.
_FORM_TURN = frozenset({
    "action_listen", "action_extract_slots", "action_deactivate_loop",
    "order_status_form", "cancel_form", "return_form",
    "validate_order_status_form", "validate_cancel_form", "validate_return_form",
    "action_ask_order_number", "action_ask_email",
})


def _held_email(tracker: Tracker) -> str | None:
    """The e-mail given before the order number (sealed in the slot), if any."""
    return unseal(tracker.get_slot(SLOT_EMAIL), purpose=EMAIL_PURPOSE)


def sender_email(tracker: Tracker) -> str | None:
    """On the e-mail channel, the sender's address (sealed in the message metadata): the e-mail
    given for any order asked about there. None on every other channel."""
    if channel_of(tracker) != "email":
        return None
    metadata = (tracker.latest_message or {}).get("metadata")
    sealed = metadata.get("sender") if isinstance(metadata, dict) else None
    return unseal(sealed, purpose=EMAIL_PURPOSE)


class OrderFormValidation(FormValidationAction):
    """Order number, then e-mail, checked together; nothing when an order is in hand."""

    @abstractmethod
    def name(self) -> str:
        """The form's validation action name."""

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> list[str]:
        if is_locked(tracker):
            return []
        if order_in_hand(tracker) is not None:
            return []
        if sender_email(tracker) is not None:
            return [SLOT_ORDER_NUMBER]
        return [SLOT_ORDER_NUMBER, SLOT_EMAIL]

    def validate_order_number(self, slot_value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        # The one place a form's answer is normalised: an entity arrives canonical already
        # (nlu.reading.OrderEmailExtractor), a typed answer (the from_text mapping) enters here.
        number = canonical_order_number(slot_value) or find_order_number(slot_value)
        if number is None:
            dispatcher.utter_message(response="utter_order_number_invalid")
            return {SLOT_ORDER_NUMBER: None}
        if number == slot_text(tracker, SLOT_VERIFIED_ORDER):
            return {SLOT_ORDER_NUMBER: number}
        try:
            if order_store().verification_blocked(order_number=number, client=client_of(tracker)):
                return {SLOT_ORDER_NUMBER: number, SLOT_EMAIL: None, SLOT_LOCKED: True}
            proven = check_channel_phone(tracker, number)
            if proven is not None:  # the caller's own number: the order number is enough
                return {SLOT_ORDER_NUMBER: number, **proven.slots}
        except StoreError:
            logger.exception("order store unavailable while checking the look-up limits")
        sender = sender_email(tracker)
        held = sender or _held_email(tracker)
        if held is not None:
            checked = check_pair(tracker, dispatcher, number, held)
            if sender is not None and checked.order is None:
                # By e-mail there is no address to correct: ask for the order number again.
                return {**checked.slots, SLOT_ORDER_NUMBER: None}
            return {SLOT_ORDER_NUMBER: number, **checked.slots}
        return {SLOT_ORDER_NUMBER: number}

    def validate_email(self, slot_value: Any, dispatcher: CollectingDispatcher,
                       tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if channel_of(tracker) == "phone":  # by phone the second factor is the postcode
            return self.validate_postcode(slot_value, dispatcher, tracker)
        email = find_email(slot_value) or _held_email(tracker)
        if email is None:
            dispatcher.utter_message(response="utter_email_invalid")
            return {SLOT_EMAIL: None}
        number = canonical_order_number(slot_text(tracker, SLOT_ORDER_NUMBER))
        if number is None:
            return {SLOT_EMAIL: seal(email, purpose=EMAIL_PURPOSE)}
        if number == slot_text(tracker, SLOT_VERIFIED_ORDER):
            return {SLOT_EMAIL: None}
        return check_pair(tracker, dispatcher, number, email).slots

    def validate_postcode(self, slot_value: Any, dispatcher: CollectingDispatcher,
                          tracker: Tracker) -> dict[str, Any]:
        """The phone channel puts the postcode said or keyed in the e-mail slot, sealed."""
        postcode = unseal(slot_value, purpose=POSTCODE_PURPOSE)
        number = canonical_order_number(slot_text(tracker, SLOT_ORDER_NUMBER))
        if postcode is None or number is None:
            dispatcher.utter_message(response="utter_email_invalid")
            return {SLOT_EMAIL: None}
        return check_postcode(tracker, dispatcher, number, postcode).slots

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[EventType]:
        typed = tracker.slots.get(SLOT_EMAIL)  # (validation changes the SDK's copy of the slots)
        events = await super().run(dispatcher, tracker, domain)
        if any(event.get("name") == SLOT_EMAIL for event in events):
            return events
        if typed is not None and unseal(typed, purpose=EMAIL_PURPOSE) is None:
            # An address typed while no e-mail was needed (the order was already in hand, or
            # the mail's sender is the e-mail).
            events.append(SlotSet(SLOT_EMAIL, None))
        return events


class ValidateOrderStatusForm(OrderFormValidation):
    def name(self) -> str:
        return "validate_order_status_form"


class ValidateCancelForm(OrderFormValidation):
    def name(self) -> str:
        return "validate_cancel_form"


class ValidateReturnForm(OrderFormValidation):
    def name(self) -> str:
        return "validate_return_form"


def resumed_after_digression(tracker: Tracker) -> bool:
    """Whether the form asks again after answering something else in this turn."""
    return any(name not in _FORM_TURN for name in actions_this_turn(tracker))


class _AskAction(Action):
    """A form question, or its short reminder when the form resumes after a digression."""

    slot = ""

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    def parameters(self, tracker: Tracker) -> dict[str, Any]:
        return {}

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        kind = "remind" if resumed_after_digression(tracker) else "ask"
        dispatcher.utter_message(response=f"utter_{kind}_{self.slot}", **self.parameters(tracker))
        return []


class ActionAskOrderNumber(_AskAction):
    slot = SLOT_ORDER_NUMBER


class ActionAskEmail(_AskAction):
    slot = SLOT_EMAIL

    def parameters(self, tracker: Tracker) -> dict[str, Any]:
        return {"order_number": slot_text(tracker, SLOT_ORDER_NUMBER)}


class ActionNotAnAnswer(Action):
    """Something inside a form that answers none of its questions ("yes", a rating, the same
    request again without an order number): nothing to say of its own, the form then asks again
    with its short reminder. (Running the form straight on such a message would make Rasa reject
    the form for a missing slot and fall back.)"""

    def name(self) -> str:
        return "action_not_an_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
            domain: DomainDict) -> list[EventType]:
        return []
