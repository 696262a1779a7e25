"""The facts of one conversation and its turns (plain data; analytics/facts.py fills them in,
analytics/outcomes.py decides the outcome). Definitions in analytics/facts.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from analytics import mapping
from nordvik.ratings import parse_rating

RATINGS = ("1", "2", "3", "4", "5")


@dataclass
class TurnFact:
    conversation_id: str
    seq: int
    event_key: str
    timestamp: float
    text: str | None
    intent: str | None
    final_intent: str | None
    confidence: float | None
    language: str | None
    channel: str | None
    fallback: bool = False
    knowledge: str | None = None         # "answered" | "not_found"
    article_id: str | None = None
    kb_feedback: str | None = None       # "helpful" | "not_helpful" (on the question's turn)
    bot_answered: bool = False           # a resolving response answered this turn
    rating: str | None = None            # the csat_rating entity of a button press
    guess: str | None = None             # the NLU's best guess below its fallback
    clarified: bool = False              # the bot asked "did you mean ...?" about it
    after_answer_of: TurnFact | None = field(default=None, repr=False, compare=False)


@dataclass
class Handoff:
    requested_at: float
    reason: str | None
    connected: bool = False
    first_reply_at: float | None = None
    closed_at: float | None = None
    case_id: int | None = None


@dataclass
class ConversationFact:
    conversation_id: str
    sender_id: str
    started_at: float
    ended_at: float
    channel: str = mapping.UNKNOWN
    language: str = "en"
    customer_turns: int = 0
    bot_messages: int = 0
    agent_messages: int = 0
    fallback_turns: int = 0
    knowledge_answers: int = 0
    knowledge_not_found: int = 0
    knowledge_helpful: int = 0
    knowledge_not_helpful: int = 0
    bot_answers: int = 0
    handoffs: list[Handoff] = field(default_factory=list)
    inherited_handoff: Handoff | None = field(default=None, repr=False)
    csat_asked: bool = False
    csat_rating: int | None = None
    csat_skipped: bool = False
    first_intent: str | None = None
    task_open: bool = False              # a task was asked for and is not finished
    thanked: bool = False                # the customer said thanks
    outcome: str = mapping.UNRESOLVED
    turns: list[TurnFact] = field(default_factory=list, repr=False)
    _languages: list[str] = field(default_factory=list, repr=False)
    _slot_language: str | None = field(default=None, repr=False)
    _slot_language_rank: int = field(default=99, repr=False)

    @property
    def handoff(self) -> Handoff | None:
        """The conversation's handoff: the first that reached a person, else the first asked."""
        connected = [h for h in self.handoffs if h.connected]
        if connected:
            return connected[0]
        return self.handoffs[0] if self.handoffs else None

    @property
    def handoff_requested(self) -> bool:
        return bool(self.handoffs)

    @property
    def first_response_s(self) -> float | None:
        h = self.handoff
        if h is None or h.first_reply_at is None:
            return None
        return max(0.0, h.first_reply_at - h.requested_at)

    @property
    def resolution_s(self) -> float | None:
        h = self.handoff
        if h is None or h.closed_at is None or not h.connected:
            return None
        return max(0.0, h.closed_at - h.requested_at)

    @property
    def duration_s(self) -> float:
        return max(0.0, self.ended_at - self.started_at)


def typed_rating(text: str | None) -> int | None:
    """A typed 1-5 rating ("4", "fyra", "五顆星"), by the action server's rule (nordvik.ratings)."""
    if not text:
        return None
    return parse_rating({"text": text})


def conversation_id(sender_id: str, started_at: float) -> str:
    """An opaque, stable id (it goes into URLs; a sender id may be an e-mail address)."""
    seed = f"{sender_id}\x00{int(round(started_at * 1000))}"
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:24]
