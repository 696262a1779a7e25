"""A handoff button's value is the id of the row it acts on; anything else is refused."""

from __future__ import annotations

from typing import Any

import pytest

from bot.listeners.handoff.buttons import MAX_ROW_ID, button_press


def _body(value: Any, user: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"actions": [{"action_id": "handoff_resolved", "value": value}]}
    if user is not None:
        body["user"] = user
    return body


def test_a_row_id_and_who_pressed() -> None:
    press = button_press(_body("42", {"id": "U7"}))
    assert press is not None
    assert (press.id, press.agent, press.action["action_id"]) == (42, "U7", "handoff_resolved")


def test_no_user_is_unknown() -> None:
    press = button_press(_body("7"))
    assert press is not None and press.agent == "unknown"


@pytest.mark.parametrize("value", [
    "", None, "0", "-1", "1.5", "12a", " 12", "١٢", "12345678901", str(MAX_ROW_ID),
    "'; drop table cases; --",
])
def test_anything_but_a_positive_row_id_is_refused(value: Any) -> None:
    assert button_press(_body(value, {"id": "U7"})) is None


def test_a_body_without_actions_is_refused() -> None:
    assert button_press({}) is None
    assert button_press({"actions": []}) is None
