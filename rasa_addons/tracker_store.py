"""Rasa's SQL tracker store, without e-mail addresses at rest.

Every event is masked before it is written (and before it goes to an event broker):

- every string anywhere in the event (the customer's text, parse_data text and entity values,
  bot texts and buttons, metadata, slot values) has its e-mail addresses replaced by `[e-mail]`
  (nordvik.text.redact_emails);
- a slot value that *is* an e-mail address (a form slot) is sealed instead (nordvik.secrets.seal,
  purpose "tracker-slot") and unsealed when the tracker is read back, so a conversation keeps a
  verified address from one turn to the next without the database holding it in clear;
- values already sealed by the actions (`sealed:v1:...`) are left alone.

The tracker the Rasa server works on within a turn is not changed. Configured by
scripts/rasa_env.py (tracker_store type `rasa_addons.tracker_store.MaskingSQLTrackerStore`, the
same keyword arguments as Rasa's `SQL` type).

Writing a turn costs one pass (it was a fifth to a half of the Rasa server's time under load):
- `save` counts the stored events once, masks each new event once, stores them in one
  transaction and hands the same masked events to the event broker. Rasa's own save read the
  whole conversation back from the database to find what to publish, masked it, and counted the
  stored events again to find what to store.
- `SQLEventBroker` is Rasa's SQL event broker (the same `events` table and rows, which the
  analytics consumer follows) writing a turn's events in one transaction instead of one each.
- A SQLite file gets store.db's engine: connections kept open, WAL, `synchronous=NORMAL` (a
  commit is not flushed to disk at once: a crash of the process loses nothing, a power cut may
  lose the last moments), a busy timeout. PostgreSQL keeps Rasa's engine settings.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker as RasaSQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from nordvik.secrets import SEALED_PREFIX, seal, unseal
from nordvik.text import normalize_email, redact_emails
from store.db import make_engine
from store.settings import StoreSettings

logger = logging.getLogger(__name__)

SLOT_PURPOSE = "tracker-slot"


def mask_value(value: Any) -> Any:
    """`value` with every e-mail address in every string masked (sealed strings kept)."""
    if isinstance(value, str):
        if value.startswith(SEALED_PREFIX):
            return value
        return redact_emails(value)
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(mask_value(item) for item in value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    return value


def mask_event(data: Mapping[str, Any]) -> dict[str, Any]:
    """A serialised event as it may be stored: addresses masked, address slot values sealed."""
    event = dict(data)
    value = event.get("value")
    if (event.get("event") == "slot" and isinstance(value, str)
            and not value.startswith(SEALED_PREFIX) and normalize_email(value) is not None):
        event["value"] = seal(value, purpose=SLOT_PURPOSE)
        return {key: (item if key == "value" else mask_value(item)) for key, item in event.items()}
    return {key: mask_value(item) for key, item in event.items()}


def unmask_event(data: dict[str, Any]) -> dict[str, Any]:
    """An event read back: a slot value sealed by `mask_event` is unsealed, nothing else."""
    if data.get("event") == "slot":
        opened = unseal(data.get("value"), purpose=SLOT_PURPOSE)
        if opened is not None:
            return {**data, "value": opened}
    return data


def _engine(url: sa.engine.URL) -> sa.engine.Engine:
    """The engine for a tracker store or event broker at ``url`` (see the module's docstring);
    database errors never quote the event's JSON (hide_parameters), so they can be logged."""
    if url.get_backend_name() == "sqlite":
        busy_ms = StoreSettings.from_env().sqlite_busy_timeout_ms
        return make_engine(url.render_as_string(hide_password=False), busy_timeout_ms=busy_ms)
    return sa.create_engine(url, hide_parameters=True, **create_engine_kwargs(url))


def publish_all(broker: EventBroker, events: list[dict[str, Any]]) -> None:
    """Hand ``events`` to ``broker``: in one go when it can take a batch, else one by one."""
    if isinstance(broker, SQLEventBroker):
        broker.publish_many(events)
        return
    for event in events:
        broker.publish(event)


class SQLEventBroker(RasaSQLEventBroker):
    """Rasa's SQL event broker (same table, same rows), a batch of events per transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rasas: sa.engine.Engine = self.engine  # type: ignore[has-type]
        rasas.dispose()
        self.engine = _engine(rasas.url)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    def publish(self, event: dict[str, Any]) -> None:
        self.publish_many([event])

    def publish_many(self, events: list[dict[str, Any]]) -> None:
        """Write ``events`` in their order, in one transaction."""
        if not events:
            return
        with self.session_scope() as session:
            session.add_all([self.SQLBrokerEvent(sender_id=event.get("sender_id"),
                                                 data=json.dumps(event)) for event in events])
            session.commit()


class MaskingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that stores (and publishes) events with e-mail addresses masked."""

    def __init__(self, *args: Any, event_broker: EventBroker | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, event_broker=event_broker, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        url = engine.url
        engine.dispose()
        self.engine = _engine(url)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, masked, then publish the same masked events."""
        with self.session_scope() as session:
            new = [(event, mask_event(event.as_dict()))
                   for event in self._additional_events(session, tracker)]
            for event, data in new:
                intent = (data.get("parse_data") or {}).get("intent", {}) or {}
                session.add(self.SQLEvent(
                    sender_id=tracker.sender_id,
                    type_name=event.type_name,
                    timestamp=data.get("timestamp"),
                    intent_name=intent.get(INTENT_NAME_KEY),
                    action_name=data.get("name"),
                    data=json.dumps(data),
                ))
            session.commit()
        logger.debug("tracker of conversation %s stored", tracker.sender_id)
        if self.event_broker is not None and new:
            publish_all(self.event_broker,
                        [{"sender_id": tracker.sender_id, **data} for _, data in new])

    async def _retrieve(self, sender_id: str,
                        fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            rows = self._event_query(
                session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
            ).all()
            events = [unmask_event(json.loads(row.data)) for row in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None
