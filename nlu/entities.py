"""A Rasa 3.6 entity extractor for order numbers and e-mail addresses in any language.

    - name: nlu.entities.OrderEmailExtractor

Entities `order_number` (value canonical: "A12345") and `email` (the address as typed, full-width
forms made ASCII), found with the project's one rule for each (nordvik.orders, nordvik.text)
on the NFKC-normalised text, so an order number glued to Chinese ("我的訂單A12345到哪了") or typed
full-width ("Ａ１２３４５") is found. start and end are offsets into the text as typed. An order
number that is part of an e-mail address ("a12345@example.com") is not an order number.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from nordvik.orders import iter_order_numbers
from nordvik.text import iter_emails, normalize_with_offsets, original_span

logger = logging.getLogger(__name__)

ORDER_NUMBER = "order_number"
EMAIL = "email"


def find_entities(text: str) -> list[dict[str, Any]]:
    """order_number and email entities in `text`, ordered by position."""
    normalized, offsets = normalize_with_offsets(text)
    entities: list[dict[str, Any]] = []
    emails: list[tuple[int, int]] = []
    for start, end, address in iter_emails(normalized):
        first, last = original_span(offsets, start, end)
        emails.append((first, last))
        entities.append({
            ENTITY_ATTRIBUTE_TYPE: EMAIL, ENTITY_ATTRIBUTE_START: first,
            ENTITY_ATTRIBUTE_END: last, ENTITY_ATTRIBUTE_VALUE: address,
        })
    # nordvik.orders reads the text as typed (its own NFKC, offsets into `text`); it keeps
    # control characters, so junk such as "a\x0012345" never becomes an order number.
    for start, end, number in iter_order_numbers(text):
        if any(s <= start and end <= e for s, e in emails):
            continue
        entities.append({
            ENTITY_ATTRIBUTE_TYPE: ORDER_NUMBER, ENTITY_ATTRIBUTE_START: start,
            ENTITY_ATTRIBUTE_END: end, ENTITY_ATTRIBUTE_VALUE: number,
        })
    return sorted(entities, key=lambda entity: int(entity[ENTITY_ATTRIBUTE_START]))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class OrderEmailExtractor(GraphComponent, EntityExtractorMixin):
    """order_number and email from nordvik.orders and nordvik.text, in every language."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> OrderEmailExtractor:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or not text:
                continue
            found = self.add_extractor_name(find_entities(text))
            if found:
                message.set(ENTITIES, [*(message.get(ENTITIES) or []), *found],
                            add_to_output=True)
        return messages
