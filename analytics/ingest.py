"""Writing events and facts: idempotent, one transaction per batch.

`FactWriter.ingest(records, source=..., position=...)`:
1. keeps each event whose key is new (a key seen before, in this batch or earlier, is skipped:
   an event delivered twice is counted once);
2. recomputes the conversations and turns of every sender that got a new event, from all of
   that sender's stored events, in the order they arrived;
3. moves the source's offset (the SQL broker's last row id) in the same transaction, so a crash
   either keeps all of it or none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from analytics import db
from analytics.events import EventRecord, compact
from analytics.fact_model import ConversationFact
from analytics.facts import build_facts

logger = logging.getLogger(__name__)

_KEY_CHUNK = 400  # keys per IN (...) query (SQLite's variable limit is far above)
# Raised when the facts' definitions change (2: abandoned conversations, clarified messages);
# stored as the offset of FACTS_SOURCE, so a consumer that starts recomputes older facts once.
FACTS_VERSION = 2
FACTS_SOURCE = "facts-version"


@dataclass(frozen=True)
class IngestResult:
    received: int
    stored: int
    duplicates: int
    senders: int


def _record_row(record: EventRecord, now: float) -> dict[str, object]:
    return {
        "event_key": record.key, "sender_id": record.sender_id, "ts": record.timestamp,
        "type": record.type, "name": record.name, "text": record.text, "intent": record.intent,
        "confidence": record.confidence, "language": record.language,
        "channel": record.channel, "value": record.value, "response": record.response,
        "received_at": now, "guess": record.guess,
    }


def _from_row(row: object) -> EventRecord:
    r = row._mapping  # type: ignore[attr-defined]
    return EventRecord(
        key=r["event_key"], sender_id=r["sender_id"], timestamp=float(r["ts"]), type=r["type"],
        name=r["name"], text=r["text"], intent=r["intent"], confidence=r["confidence"],
        language=r["language"], channel=r["channel"], value=r["value"], response=r["response"],
        guess=r["guess"],
    )


def conversation_row(fact: ConversationFact, now: float) -> dict[str, object]:
    handoff = fact.handoff
    return {
        "conversation_id": fact.conversation_id, "sender_id": fact.sender_id,
        "started_at": fact.started_at, "ended_at": fact.ended_at, "duration_s": fact.duration_s,
        "channel": fact.channel, "language": fact.language,
        "customer_turns": fact.customer_turns, "bot_messages": fact.bot_messages,
        "agent_messages": fact.agent_messages, "fallback_turns": fact.fallback_turns,
        "knowledge_answers": fact.knowledge_answers,
        "knowledge_not_found": fact.knowledge_not_found,
        "knowledge_helpful": fact.knowledge_helpful,
        "knowledge_not_helpful": fact.knowledge_not_helpful, "bot_answers": fact.bot_answers,
        "handoff_requested": handoff is not None,
        "handoff_connected": bool(handoff and handoff.connected),
        "handoff_reason": handoff.reason if handoff else None,
        "handoff_requested_at": handoff.requested_at if handoff else None,
        "agent_first_reply_at": handoff.first_reply_at if handoff else None,
        "handoff_closed_at": handoff.closed_at if handoff else None,
        "first_response_s": fact.first_response_s, "resolution_s": fact.resolution_s,
        "handoff_case_id": handoff.case_id if handoff else None,
        "outcome": fact.outcome, "csat_asked": fact.csat_asked, "csat_rating": fact.csat_rating,
        "csat_skipped": fact.csat_skipped, "first_intent": fact.first_intent,
        "updated_at": now,
    }


def turn_rows(fact: ConversationFact) -> list[dict[str, object]]:
    return [
        {
            "event_key": t.event_key, "conversation_id": t.conversation_id,
            "sender_id": fact.sender_id, "seq": t.seq, "ts": t.timestamp, "text": t.text,
            "intent": t.intent, "final_intent": t.final_intent, "confidence": t.confidence,
            "language": t.language, "channel": t.channel, "fallback": t.fallback,
            "knowledge": t.knowledge, "article_id": t.article_id, "kb_feedback": t.kb_feedback,
            "bot_answered": t.bot_answered, "guess": t.guess, "clarified": t.clarified,
        }
        for t in fact.turns
    ]


class FactWriter:
    """Stores events once and keeps the facts of their senders current."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ingest(self, records: Sequence[EventRecord], *, source: str | None = None,
               position: int | None = None) -> IngestResult:
        now = time.time()
        unique: dict[str, EventRecord] = {}
        for record in records:
            unique.setdefault(record.key, record)
        with db.transaction(self.engine, write=True) as conn:
            known = self._known_keys(conn, list(unique))
            fresh = [r for key, r in unique.items() if key not in known]
            if fresh:
                conn.execute(insert(db.events), [_record_row(r, now) for r in fresh])
            senders = sorted({r.sender_id for r in fresh})
            for sender in senders:
                self._recompute(conn, sender, now)
            if source is not None and position is not None:
                self._move_offset(conn, source, position, now)
        result = IngestResult(received=len(records), stored=len(fresh),
                              duplicates=len(records) - len(fresh), senders=len(senders))
        if records:
            logger.debug("ingested %s events: %s new, %s duplicates, %s conversations' senders",
                         result.received, result.stored, result.duplicates, result.senders)
        return result

    def reject(self, source: str, reason: str, body: bytes | str) -> None:
        """Keep a message that is not a Rasa event, so nothing is lost (and it is not retried)."""
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        with db.transaction(self.engine, write=True) as conn:
            conn.execute(insert(db.rejected).values(
                source=source[:300], reason=reason[:300], body=text[:100_000],
                received_at=time.time()))
        logger.warning("analytics: rejected a message from %s: %s", source, reason)

    def offset(self, source: str) -> int:
        with db.transaction(self.engine) as conn:
            value = conn.execute(
                select(db.offsets.c.position).where(db.offsets.c.source == source)
            ).scalar()
        return int(value) if value is not None else 0

    def recompute_all(self) -> int:
        """Rebuild every sender's facts from the stored events (after a mapping change)."""
        now = time.time()
        with db.transaction(self.engine, write=True) as conn:
            senders = [s for (s,) in conn.execute(select(db.events.c.sender_id).distinct())]
            for sender in senders:
                self._recompute(conn, sender, now)
        return len(senders)

    def ensure_current_facts(self) -> int:
        """Recompute every sender's facts once after FACTS_VERSION changed; the senders done."""
        if self.offset(FACTS_SOURCE) >= FACTS_VERSION:
            return 0
        now = time.time()
        with db.transaction(self.engine, write=True) as conn:
            senders = [s for (s,) in conn.execute(select(db.events.c.sender_id).distinct())]
            for sender in senders:
                self._recompute(conn, sender, now)
            self._move_offset(conn, FACTS_SOURCE, FACTS_VERSION, now)
        logger.info("analytics: facts of %s senders recomputed (definitions version %s)",
                    len(senders), FACTS_VERSION)
        return len(senders)

    @staticmethod
    def _known_keys(conn: Connection, keys: list[str]) -> set[str]:
        known: set[str] = set()
        for start in range(0, len(keys), _KEY_CHUNK):
            chunk = keys[start:start + _KEY_CHUNK]
            known.update(conn.execute(
                select(db.events.c.event_key).where(db.events.c.event_key.in_(chunk))
            ).scalars())
        return known

    @staticmethod
    def _recompute(conn: Connection, sender: str, now: float) -> None:
        rows = conn.execute(
            select(db.events).where(db.events.c.sender_id == sender).order_by(db.events.c.id)
        ).all()
        facts = build_facts(sender, (_from_row(row) for row in rows))
        conn.execute(delete(db.turns).where(db.turns.c.sender_id == sender))
        conn.execute(delete(db.conversations).where(db.conversations.c.sender_id == sender))
        if facts:
            conn.execute(insert(db.conversations), [conversation_row(f, now) for f in facts])
            turns = [row for fact in facts for row in turn_rows(fact)]
            if turns:
                conn.execute(insert(db.turns), turns)

    @staticmethod
    def _move_offset(conn: Connection, source: str, position: int, now: float) -> None:
        updated = conn.execute(
            update(db.offsets).where(db.offsets.c.source == source)
            .values(position=position, updated_at=now)
        ).rowcount
        if not updated:
            conn.execute(insert(db.offsets).values(source=source, position=position,
                                                   updated_at=now))


def ingest_raw(writer: FactWriter, raws: Iterable[dict[str, object]]) -> IngestResult:
    """Compact and ingest raw broker events (tests and tools)."""
    return writer.ingest([compact(dict(raw)) for raw in raws])
