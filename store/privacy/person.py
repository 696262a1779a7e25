"""Finding a customer: their store row by address, the conversations their store rows name, and
the conversations whose tracker events mention their address or full name (also inside sealed
slot values)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData, Table, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from nordvik.secrets import SEALED_PREFIX, unseal
from nordvik.text import normalize_email
from nordvik.trackers import TRACKER_EVENTS_TABLE
from store.errors import InvalidInput
from store.models import CsatFeedback, Customer, Interaction, SupportCase

NAME_PLACEHOLDER = "[name]"
EMAIL_PLACEHOLDER = "[e-mail]"
SEAL_PURPOSES = ("email", "tracker-slot")


def _email_pattern(address: str) -> re.Pattern[str]:
    return re.compile(
        rf"(?<![A-Za-z0-9._%+-]){re.escape(address)}(?![A-Za-z0-9-]|\.[A-Za-z0-9])", re.IGNORECASE
    )


def _name_patterns(name: str) -> list[re.Pattern[str]]:
    """The full name as typed and as it appears inside JSON (non-ASCII escaped)."""
    variants = {name, json.dumps(name)[1:-1]}
    return [re.compile(rf"(?<!\w){re.escape(v)}(?!\w)", re.IGNORECASE) for v in variants if v]


@dataclass(frozen=True)
class Person:
    customer_id: int
    email: str
    name: str

    def patterns(self) -> list[tuple[re.Pattern[str], str]]:
        found: list[tuple[re.Pattern[str], str]] = [(_email_pattern(self.email), EMAIL_PLACEHOLDER)]
        if len(self.name.strip()) >= 3:
            found += [(p, NAME_PLACEHOLDER) for p in _name_patterns(self.name.strip())]
        return found

    def needles(self) -> list[str]:
        """Lower-case substrings for a coarse LIKE filter before the exact patterns."""
        out = {self.email.lower()}
        if len(self.name.strip()) >= 3:
            out |= {self.name.strip().lower(), json.dumps(self.name.strip())[1:-1].lower()}
        return sorted(out)

    def mentioned_in(self, text: str) -> bool:
        return any(pattern.search(text) for pattern, _ in self.patterns())


def find_person(conn: Connection, email: str) -> Person | None:
    address = normalize_email(email)
    if address is None:
        raise InvalidInput("that is not an e-mail address")
    row = conn.execute(
        select(Customer.id, Customer.email, Customer.name)
        .where(func.lower(Customer.email) == address)
    ).first()
    if row is None:
        return None
    return Person(int(row[0]), str(row[1]).lower(), str(row[2] or ""))


def store_conversations(conn: Connection, customer_id: int) -> set[str]:
    ids: set[str] = set()
    for column, owner in ((Interaction.conversation_id, Interaction.customer_id),
                          (SupportCase.conversation_id, SupportCase.customer_id),
                          (CsatFeedback.conversation_id, CsatFeedback.customer_id)):
        ids |= {str(v) for v in conn.execute(select(column).where(owner == customer_id)).scalars()
                if v}
    return ids


def events_table(conn: Connection) -> Table | None:
    metadata = MetaData()
    try:
        metadata.reflect(bind=conn, only=[TRACKER_EVENTS_TABLE])
    except SQLAlchemyError:
        return None
    table = metadata.tables.get(TRACKER_EVENTS_TABLE)
    if table is None or "sender_id" not in table.c or "data" not in table.c:
        return None
    return table


def _unsealed_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(SEALED_PREFIX):
            for purpose in SEAL_PURPOSES:
                opened = unseal(value, purpose=purpose)
                if opened is not None:
                    yield opened
    elif isinstance(value, dict):
        for item in value.values():
            yield from _unsealed_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _unsealed_strings(item)


def unseal_all(value: Any) -> Any:
    """For the export: sealed values opened (the customer's own data, readable)."""
    if isinstance(value, str) and value.startswith(SEALED_PREFIX):
        for purpose in SEAL_PURPOSES:
            opened = unseal(value, purpose=purpose)
            if opened is not None:
                return opened
        return value
    if isinstance(value, dict):
        return {k: unseal_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unseal_all(v) for v in value]
    return value


def tracker_mentions(conn: Connection, events: Table, person: Person) -> set[str]:
    """Conversations whose events mention the person (address or name, or a sealed address)."""
    found: set[str] = set()
    lowered = func.lower(events.c.data)
    for needle in person.needles():
        for sender, data in conn.execute(
            select(events.c.sender_id, events.c.data).where(lowered.contains(needle))
        ):
            if data and person.mentioned_in(str(data)):
                found.add(str(sender))
    for sender, data in conn.execute(
        select(events.c.sender_id, events.c.data).where(events.c.data.contains(SEALED_PREFIX))
    ):
        if str(sender) in found:
            continue
        try:
            parsed = json.loads(data)
        except (TypeError, ValueError):
            continue
        if any(normalize_email(text) == person.email for text in _unsealed_strings(parsed)):
            found.add(str(sender))
    return found
