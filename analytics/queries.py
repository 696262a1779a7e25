"""Reading the facts: KPI inputs, the conversation review list, transcripts.

Every text leaves here with e-mail addresses masked (they were removed at ingest already; the
transcript masks again, in case an older row predates that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.sql import Select

from analytics import db, mapping
from analytics.kpis import ConversationRow, KpiFilter, Report, TurnRow, report
from nordvik.text import redact_emails

REVIEW_FILTERS = ("fallback", "handoff", "low_csat", "abandoned", "unresolved")
MAX_LIST = 500


def _conversation_filter(stmt: Select, flt: KpiFilter) -> Select:
    c = db.conversations.c
    stmt = stmt.where(c.started_at >= flt.start_ts, c.started_at < flt.end_ts)
    if flt.channel:
        stmt = stmt.where(c.channel == flt.channel)
    if flt.language:
        stmt = stmt.where(c.language == flt.language)
    return stmt


def _conversation_row(r: Any) -> ConversationRow:
    m = r._mapping
    return ConversationRow(
        conversation_id=m["conversation_id"], sender_id=m["sender_id"],
        started_at=float(m["started_at"]), ended_at=float(m["ended_at"]),
        channel=m["channel"], language=m["language"],
        customer_turns=int(m["customer_turns"]), fallback_turns=int(m["fallback_turns"]),
        knowledge_answers=int(m["knowledge_answers"]),
        knowledge_not_found=int(m["knowledge_not_found"]),
        knowledge_helpful=int(m["knowledge_helpful"]),
        knowledge_not_helpful=int(m["knowledge_not_helpful"]),
        handoff_requested=bool(m["handoff_requested"]),
        handoff_connected=bool(m["handoff_connected"]),
        first_response_s=m["first_response_s"], resolution_s=m["resolution_s"],
        outcome=m["outcome"], csat_asked=bool(m["csat_asked"]), csat_rating=m["csat_rating"],
        first_intent=m["first_intent"], duration_s=float(m["duration_s"]),
    )


def _turn_row(r: Any) -> TurnRow:
    m = r._mapping
    return TurnRow(
        event_key=m["event_key"], conversation_id=m["conversation_id"], ts=float(m["ts"]),
        text=m["text"], intent=m["intent"], final_intent=m["final_intent"],
        # the message's own language when the NLU gave one, else the conversation's
        language=m["language"] or m.get("conversation_language"),
        fallback=bool(m["fallback"]), knowledge=m["knowledge"],
        article_id=m["article_id"], kb_feedback=m["kb_feedback"],
    )


def load_conversations(engine: Engine, flt: KpiFilter) -> list[ConversationRow]:
    stmt = _conversation_filter(select(db.conversations), flt).order_by(
        db.conversations.c.started_at)
    with db.transaction(engine) as conn:
        return [_conversation_row(r) for r in conn.execute(stmt)]


def load_turns(engine: Engine, flt: KpiFilter) -> list[TurnRow]:
    t, c = db.turns.c, db.conversations.c
    stmt = _conversation_filter(
        select(db.turns, c.language.label("conversation_language"))
        .join(db.conversations, t.conversation_id == c.conversation_id), flt
    ).order_by(t.ts)
    with db.transaction(engine) as conn:
        return [_turn_row(r) for r in conn.execute(stmt)]


def kpi_report(engine: Engine, flt: KpiFilter) -> Report:
    return report(load_conversations(engine, flt), load_turns(engine, flt), flt)


def facet_values(engine: Engine) -> tuple[list[str], list[str]]:
    """The channels and languages that occur (for the filter menus)."""
    c = db.conversations.c
    with db.transaction(engine) as conn:
        channels = sorted(x for (x,) in conn.execute(select(c.channel).distinct()) if x)
        languages = sorted(x for (x,) in conn.execute(select(c.language).distinct()) if x)
    return channels, languages


def conversation_count(engine: Engine) -> int:
    with db.transaction(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(db.conversations)).scalar()
                   or 0)


@dataclass(frozen=True)
class ReviewFilter:
    kpi: KpiFilter
    show: tuple[str, ...] = ()   # any of REVIEW_FILTERS: a conversation matching one is listed
    low_csat: int = 2

    def __post_init__(self) -> None:
        unknown = set(self.show) - set(REVIEW_FILTERS)
        if unknown:
            raise ValueError(f"unknown review filter {sorted(unknown)[0]!r}; "
                             f"choose from {', '.join(REVIEW_FILTERS)}")


def review_list(engine: Engine, flt: ReviewFilter, limit: int = MAX_LIST) -> list[ConversationRow]:
    """Conversations for review, newest first; with `show`, those matching any of them."""
    c = db.conversations.c
    stmt = _conversation_filter(select(db.conversations), flt.kpi)
    conditions = []
    if "fallback" in flt.show:
        conditions.append(c.fallback_turns > 0)
    if "handoff" in flt.show:
        conditions.append(c.handoff_requested.is_(True))
    if "low_csat" in flt.show:
        conditions.append(and_(c.csat_rating.is_not(None), c.csat_rating <= flt.low_csat))
    if "abandoned" in flt.show:
        conditions.append(c.outcome == mapping.ABANDONED)
    if "unresolved" in flt.show:
        conditions.append(c.outcome == mapping.UNRESOLVED)
    if conditions:
        stmt = stmt.where(or_(*conditions))
    stmt = stmt.order_by(c.started_at.desc()).limit(limit)
    with db.transaction(engine) as conn:
        return [_conversation_row(r) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class TranscriptLine:
    timestamp: float
    speaker: str              # "customer" | "bot" | "agent" | "event"
    text: str
    event_key: str | None = None
    intent: str | None = None
    confidence: float | None = None
    fallback: bool = False
    mark: str | None = None   # the intent a reviewer marked this message with


def get_conversation(engine: Engine, conversation_id: str) -> ConversationRow | None:
    stmt = select(db.conversations).where(db.conversations.c.conversation_id == conversation_id)
    with db.transaction(engine) as conn:
        row = conn.execute(stmt).first()
    return _conversation_row(row) if row is not None else None


def transcript(engine: Engine, conversation: ConversationRow) -> list[TranscriptLine]:
    """Customer, bot and agent messages of the conversation, e-mail addresses masked."""
    e, t = db.events.c, db.turns.c
    with db.transaction(engine) as conn:
        turns = {r.event_key: r for r in conn.execute(
            select(db.turns).where(t.conversation_id == conversation.conversation_id))}
        marks = dict(conn.execute(
            select(db.review_marks.c.event_key, db.review_marks.c.intent).where(
                db.review_marks.c.conversation_id == conversation.conversation_id)).all())
        # the sender's later events may belong to an open handoff of this conversation
        upper = conn.execute(
            select(func.min(db.conversations.c.started_at)).where(
                db.conversations.c.sender_id == conversation.sender_id,
                db.conversations.c.started_at > conversation.started_at)
        ).scalar()
        stmt = select(db.events).where(
            e.sender_id == conversation.sender_id, e.ts >= conversation.started_at - 1.0,
            e.type.in_(("user", "bot", "action")),
        ).order_by(e.id)
        if upper is not None:
            stmt = stmt.where(e.ts < float(upper))
        rows = conn.execute(stmt).all()
    lines: list[TranscriptLine] = []
    last_action: str | None = None
    for row in rows:
        m = row._mapping
        if m["type"] == "action":
            if m["name"] != mapping.LISTEN_ACTION:
                last_action = m["name"]
            if m["name"] in mapping.HANDOFF_ACTIONS:
                lines.append(TranscriptLine(float(m["ts"]), "event", "handed off to a person"))
            continue
        text = redact_emails(m["text"] or "")
        if m["type"] == "user":
            intent = m["intent"] or ""
            if intent == mapping.AGENT_MESSAGE_INTENT:
                lines.append(TranscriptLine(float(m["ts"]), "agent", text))
            elif intent == mapping.HANDOFF_CLOSED_INTENT:
                lines.append(TranscriptLine(float(m["ts"]), "event", "the agent closed the chat"))
            elif m["event_key"] in turns:
                turn = turns[m["event_key"]]._mapping
                lines.append(TranscriptLine(
                    float(m["ts"]), "customer", text, event_key=m["event_key"],
                    intent=turn["final_intent"] or turn["intent"],
                    confidence=turn["confidence"], fallback=bool(turn["fallback"]),
                    mark=marks.get(m["event_key"])))
        elif m["type"] == "bot" and text:
            speaker = "agent" if last_action in mapping.AGENT_RELAY_ACTIONS else "bot"
            if speaker == "agent" and lines and lines[-1].speaker == "agent" \
                    and lines[-1].text == text:
                continue  # the relayed copy of the agent's message
            lines.append(TranscriptLine(float(m["ts"]), speaker, text))
    return lines
