"""What each messaging platform supplies: how to check, read and answer its webhooks.

A `Platform` (messaging/whatsapp.py, messenger.py, line.py) knows only its own wire format:
the signature check, the inbound events as `Inbound` records, and how to send `Outgoing`
messages to one contact. Everything else (conversations, the bot's turn, non-text messages,
reply windows, handoff notes, the CRM record) is shared (messaging/channel.py, turns.py).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from messaging.contacts import Contact
from messaging.formatting import Limits, Outgoing
from messaging.settings import MessagingSettings

logger = logging.getLogger(__name__)

# Kinds of messages that are not text, as platforms name them (kept for the CRM record).
NOT_TEXT_KINDS = ("image", "sticker", "audio", "voice", "video", "file", "location", "contact",
                  "other")


@dataclass(frozen=True)
class Inbound:
    """One customer message from a webhook."""

    user_id: str  # the platform's id of the customer (a WhatsApp number, PSID, LINE user id)
    text: str | None = None  # the text, or a quick reply's / postback's payload
    kind: str | None = None  # None for text; else one of NOT_TEXT_KINDS
    details: str = ""  # for the CRM record of a non-text message (media URL, coordinates)
    reply_token: str | None = None  # LINE
    message_id: str | None = None  # the platform's id of the message (redeliveries repeat it)
    metadata: Mapping[str, Any] = field(default_factory=dict)  # extra message metadata


@dataclass(frozen=True)
class Request:
    """The parts of an HTTP request a platform reads (no framework types below this line)."""

    url: str
    body: bytes
    headers: Mapping[str, str]  # lower-case names
    form: Mapping[str, str]


@dataclass(frozen=True)
class Delivery:
    sent: int  # messages the platform accepted
    error: str | None = None  # why the rest were not (for the agent and the log; no content)
    window_closed: bool = False


class Platform(ABC):
    name: str = ""
    label: str = ""  # how agents read the channel's name
    limits: Limits = Limits(text_chars=1000)

    def __init__(self, settings: MessagingSettings) -> None:
        self.settings = settings

    @abstractmethod
    def verified(self, request: Request) -> bool:
        """Whether the request carries the platform's valid signature."""

    @abstractmethod
    def inbound(self, request: Request) -> list[Inbound]:
        """The customer messages of a verified request (other events are skipped)."""

    @abstractmethod
    def send(self, contact: Contact, messages: Sequence[Outgoing], *,
             reply_token: str | None = None) -> Delivery:
        """Send to the contact (blocking; callers run it in a thread)."""

    def webhook_answer(self) -> tuple[str, str]:
        """(body, content type) of the 200 answer to a webhook."""
        return "{}", "application/json"

    # --- HTTP --------------------------------------------------------------------------------

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, Any]:
        """POST; (status, decoded JSON or None). Never raises for HTTP or network errors
        (status 0 for a network error)."""
        request = urllib.request.Request(url, data=body, method="POST", headers=dict(headers))
        try:
            with urllib.request.urlopen(  # noqa: S310 - a configured https or loopback URL
                    request, timeout=self.settings.api_timeout_seconds) as response:
                return int(response.status), _json(response.read())
        except urllib.error.HTTPError as error:
            return int(error.code), _json(error.read())
        except OSError as error:
            logger.warning("%s API unreachable: %s", self.name, type(error).__name__)
            return 0, None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
