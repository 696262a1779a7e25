"""The cached action-response validator accepts and refuses exactly what Rasa's does, faster."""

from __future__ import annotations

import time
from typing import Any

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from runtime.rasa_speedups import install

VALID: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "order_number", "value": "A10001"}],
     "responses": [{"response": "utter_ask_email"}]},
    {"events": [{"event": "active_loop", "name": None}], "responses": [{"text": "hi"}]},
]
INVALID: list[dict[str, Any]] = [
    {"events": "not a list", "responses": []},
    {"events": [{"event": "slot"}], "responses": []},  # a slot event needs its name
    {"events": [], "responses": ["not an object"]},
]


def _rasa_verdict(result: dict[str, Any]) -> bool:
    try:
        validate(result, RemoteAction.action_response_format_spec())
        return True
    except ValidationError:
        return False


def test_same_verdicts_as_rasa_and_faster() -> None:
    action = RemoteAction("action_x", None)
    started = time.perf_counter()
    for result in VALID * 20:
        action._validate_action_result(result)
    before = time.perf_counter() - started
    install()
    install()  # idempotent
    for result in VALID:
        assert _rasa_verdict(result) and action._validate_action_result(result)
    for result in INVALID:
        assert not _rasa_verdict(result)
        with pytest.raises(ValidationError, match="Failed to validate Action server response"):
            action._validate_action_result(result)
    started = time.perf_counter()
    for result in VALID * 20:
        action._validate_action_result(result)
    after = time.perf_counter() - started
    assert after < before / 2, (before, after)
