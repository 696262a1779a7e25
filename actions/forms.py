"""Validation of the three order forms (status, cancel, return): order number and e-mail.

Anything that is not a well-formed order number (SQL, HTML, emoji, right-to-left text, 10,000
characters) gets the normal "can't find that order" reply and the question again.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from nordvik.emails import find_email
from nordvik.orders import find_order_number


class _ValidateOrderForm(FormValidationAction):
    @abstractmethod
    def name(self) -> str:
        """The form's validation action name."""

    def validate_order_number(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        number = find_order_number(slot_value)
        if number is None:
            dispatcher.utter_message(response="utter_order_number_invalid")
        return {"order_number": number}

    def validate_email(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        email = find_email(slot_value)
        if email is None:
            dispatcher.utter_message(response="utter_email_invalid")
        return {"email": email}


class ValidateOrderStatusForm(_ValidateOrderForm):
    def name(self) -> str:
        return "validate_order_status_form"


class ValidateCancelForm(_ValidateOrderForm):
    def name(self) -> str:
        return "validate_cancel_form"


class ValidateReturnForm(_ValidateOrderForm):
    def name(self) -> str:
        return "validate_return_form"
