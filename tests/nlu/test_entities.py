"""OrderEmailExtractor: order numbers and e-mail addresses in every language."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu.reading import OrderEmailExtractor, find_entities


def _extract(text: str, tmp_path: Any, existing: list[dict[str, Any]] | None = None
             ) -> list[dict[str, Any]]:
    extractor = OrderEmailExtractor.create(
        {}, LocalModelStorage(tmp_path), Resource("entities"),
        ExecutionContext(GraphSchema({}), node_name="entities"),
    )
    data: dict[str, Any] = {TEXT: text}
    if existing is not None:
        data[ENTITIES] = existing
    [message] = extractor.process([Message(data=data)])
    entities: list[dict[str, Any]] = message.get(ENTITIES) or []
    return entities


@pytest.mark.parametrize(
    ("text", "typed"),
    [
        ("我的訂單A12345到哪了", "A12345"),
        ("訂單ａ１２３４５還沒到", "ａ１２３４５"),
        ("var är a12345?", "a12345"),
        ("bestilling Ａ１２３４５ er ikke kommet", "Ａ１２３４５"),
        ("A12345", "A12345"),
    ],
)
def test_order_numbers_in_every_language_are_canonical_with_original_offsets(
    text: str, typed: str, tmp_path: Any
) -> None:
    [entity] = _extract(text, tmp_path)
    assert entity["entity"] == "order_number"
    assert entity["value"] == "A12345"
    assert text[entity["start"] : entity["end"]] == typed
    assert entity["extractor"] == "OrderEmailExtractor"


def test_email_addresses_full_width_and_next_to_chinese(tmp_path: Any) -> None:
    text = "我的信箱是ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ，訂單A10234"
    entities = _extract(text, tmp_path)
    assert [(e["entity"], e["value"]) for e in entities] == [
        ("email", "anna@example.com"), ("order_number", "A10234"),
    ]
    assert text[entities[0]["start"] : entities[0]["end"]] == "ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ"


def test_an_address_is_not_an_order_number_and_junk_is_nothing(tmp_path: Any) -> None:
    assert [e["entity"] for e in find_entities("mail a12345@example.com")] == ["email"]
    assert find_entities("ref XA123456, A1234, A123456, a\x0012345") == []
    assert _extract("", tmp_path) == []


def test_other_extractors_entities_are_kept(tmp_path: Any) -> None:
    other = {"entity": "city", "start": 0, "end": 5, "value": "Malmö", "extractor": "X"}
    entities = _extract("Malmö A12345", tmp_path, existing=[other])
    assert entities[0] == other
    assert entities[1]["value"] == "A12345"
