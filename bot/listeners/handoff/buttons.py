"""What a handoff button press carries: the row it names (a case, a kept reply) and who pressed.

    press = button_press(body)    # None when the value is not a positive row id
    press.id, press.agent, press.action["action_id"]

Every handoff button's value is the id of the row it acts on; a value that is not one (forged,
or a button from another app) is refused before anything is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ROW_ID = re.compile(r"[0-9]{1,10}")
MAX_ROW_ID = 2**31  # the store's integer keys


@dataclass(frozen=True)
class ButtonPress:
    action: Mapping[str, Any]
    id: int
    agent: str  # the Slack user id, "unknown" when the payload has none


def button_press(body: Mapping[str, Any]) -> ButtonPress | None:
    """The pressed button, its value as a row id, and who pressed it; None for a bad value."""
    action = (body.get("actions") or [{}])[0]
    value = str(action.get("value") or "")
    if not ROW_ID.fullmatch(value) or not 0 < int(value) < MAX_ROW_ID:
        return None
    return ButtonPress(action, int(value), str((body.get("user") or {}).get("id") or "unknown"))
