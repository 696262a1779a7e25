"""What one turn said to a customer by mail, and the case a reply belongs to.

`MailOutput` is the Rasa output channel that collects a turn's messages; mail/inbound.py fills one
per inbound mail and mail/channel.py subclasses it for the turns Rasa runs on its own
(trigger_intent). Both read the case a reply mentions from the same slots (`reply_case_id`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rasa.core.channels.channel import OutputChannel


class MailOutput(OutputChannel):
    """Collects the messages of one turn (the whole message, with its response name)."""

    @classmethod
    def name(cls) -> str:
        return "email"

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(dict(message))
        await self.collected(recipient_id)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.messages.append({"text": text})
        await self.collected(recipient_id)

    async def collected(self, recipient_id: str) -> None:
        """A message was added (the turn may not be over yet)."""


def slot_int(value: Any) -> int | None:
    """A slot's whole number (Rasa may hand back 7.0 or "7"), or None."""
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def reply_case_id(slots: Mapping[str, Any]) -> int | None:
    """The case a reply names: the open handoff's, else the one whose rating is asked."""
    return slot_int(slots.get("handoff_case_id")) or slot_int(slots.get("csat_case_id"))
