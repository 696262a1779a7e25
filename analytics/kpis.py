"""KPIs from conversation and turn facts (pure functions; the rows come from analytics.queries).

Definitions (each rate is None when its denominator is 0):
- conversations: Rasa sessions with at least one customer message, by their start (UTC);
- containment: conversations the bot resolved with no person involved / conversations; resolved
  means the request was served (analytics/outcomes.py), so a customer who asked for a task and
  left before it was done is not contained but abandoned;
- abandonment rate: conversations left with a task asked for and not finished / conversations;
- handoff rate: conversations in which a person was asked for / conversations;
- fallback rate: customer messages the bot did not understand / customer messages;
- knowledge helpfulness: "yes, that helped" / (yes + no) after a knowledge answer;
- CSAT: mean of the 1-5 ratings, their distribution, response rate = ratings / questions asked;
- first-response and resolution time of handed-off conversations (a person was reached): from
  the handoff to the agent's first reply / to the close, median and p90 (linear interpolation,
  as numpy.percentile's default);
- top intents: the customer messages' (clarified) intents; top unanswered questions: messages
  the knowledge search found nothing for, or whose answer did not help, grouped by their
  lower-cased, whitespace-normalised text.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from analytics import mapping

GRANULARITIES = ("hour", "day", "week")


@dataclass(frozen=True)
class ConversationRow:
    conversation_id: str
    sender_id: str
    started_at: float
    ended_at: float
    channel: str
    language: str
    customer_turns: int
    fallback_turns: int
    knowledge_answers: int
    knowledge_not_found: int
    knowledge_helpful: int
    knowledge_not_helpful: int
    handoff_requested: bool
    handoff_connected: bool
    first_response_s: float | None
    resolution_s: float | None
    outcome: str
    csat_asked: bool
    csat_rating: int | None
    first_intent: str | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class TurnRow:
    event_key: str
    conversation_id: str
    ts: float
    text: str | None
    intent: str | None
    final_intent: str | None
    language: str | None
    fallback: bool
    knowledge: str | None
    article_id: str | None
    kb_feedback: str | None


@dataclass(frozen=True)
class KpiFilter:
    """Conversations that started on [start, end] (UTC dates, inclusive), optionally narrowed."""

    start: date
    end: date
    channel: str | None = None
    language: str | None = None
    granularity: str = "day"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the range ends ({self.end}) before it starts ({self.start})")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}")

    @property
    def start_ts(self) -> float:
        return datetime.combine(self.start, time.min, tzinfo=timezone.utc).timestamp()

    @property
    def end_ts(self) -> float:
        """Exclusive: the start of the day after `end`."""
        following = self.end + timedelta(days=1)
        return datetime.combine(following, time.min, tzinfo=timezone.utc).timestamp()

    @classmethod
    def last_days(cls, days: int, *, today: date | None = None, **kwargs: str | None) -> KpiFilter:
        end = today or datetime.now(timezone.utc).date()
        return cls(start=end - timedelta(days=days - 1), end=end, **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Distribution:
    count: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Kpis:
    conversations: int
    customer_messages: int
    bot_resolved: int
    abandoned: int
    handoffs: int
    handoffs_connected: int
    fallback_messages: int
    containment: float | None
    abandonment_rate: float | None
    handoff_rate: float | None
    fallback_rate: float | None
    knowledge_answers: int
    knowledge_not_found: int
    knowledge_helpful: int
    knowledge_not_helpful: int
    knowledge_helpfulness: float | None
    csat_asked: int
    csat_ratings: int
    csat_mean: float | None
    csat_response_rate: float | None
    csat_distribution: dict[int, int]
    first_response: Distribution
    resolution: Distribution
    outcomes: dict[str, int]


@dataclass(frozen=True)
class Bucket:
    start: datetime
    label: str
    kpis: Kpis


@dataclass(frozen=True)
class Report:
    filter: KpiFilter
    total: Kpis
    series: list[Bucket]
    by_channel: dict[str, Kpis]
    by_language: dict[str, Kpis]
    top_intents: list[tuple[str, int]]
    top_unanswered: list[tuple[str, str, int]]  # text, language, count
    article_feedback: dict[str, tuple[int, int]] = field(default_factory=dict)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _distribution(values: Iterable[float | None]) -> Distribution:
    present = [v for v in values if v is not None]
    return Distribution(len(present), percentile(present, 50), percentile(present, 90))


def compute(rows: Sequence[ConversationRow]) -> Kpis:
    conversations = len(rows)
    messages = sum(r.customer_turns for r in rows)
    fallbacks = sum(r.fallback_turns for r in rows)
    resolved = sum(r.outcome == mapping.BOT_RESOLVED for r in rows)
    abandoned = sum(r.outcome == mapping.ABANDONED for r in rows)
    handoffs = sum(r.handoff_requested for r in rows)
    helpful = sum(r.knowledge_helpful for r in rows)
    not_helpful = sum(r.knowledge_not_helpful for r in rows)
    ratings = [r.csat_rating for r in rows if r.csat_rating is not None]
    asked = sum(r.csat_asked or r.csat_rating is not None for r in rows)
    return Kpis(
        conversations=conversations,
        customer_messages=messages,
        bot_resolved=resolved,
        abandoned=abandoned,
        handoffs=handoffs,
        handoffs_connected=sum(r.handoff_connected for r in rows),
        fallback_messages=fallbacks,
        containment=_ratio(resolved, conversations),
        abandonment_rate=_ratio(abandoned, conversations),
        handoff_rate=_ratio(handoffs, conversations),
        fallback_rate=_ratio(fallbacks, messages),
        knowledge_answers=sum(r.knowledge_answers for r in rows),
        knowledge_not_found=sum(r.knowledge_not_found for r in rows),
        knowledge_helpful=helpful,
        knowledge_not_helpful=not_helpful,
        knowledge_helpfulness=_ratio(helpful, helpful + not_helpful),
        csat_asked=asked,
        csat_ratings=len(ratings),
        csat_mean=sum(ratings) / len(ratings) if ratings else None,
        csat_response_rate=_ratio(len(ratings), asked),
        csat_distribution={score: ratings.count(score) for score in range(1, 6)},
        first_response=_distribution(r.first_response_s for r in rows if r.handoff_connected),
        resolution=_distribution(r.resolution_s for r in rows if r.handoff_connected),
        outcomes={o: sum(r.outcome == o for r in rows) for o in mapping.OUTCOMES},
    )


def bucket_start(ts: float, granularity: str) -> datetime:
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    if granularity == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    return day


def bucket_label(start: datetime, granularity: str) -> str:
    if granularity == "hour":
        return start.strftime("%Y-%m-%d %H:00")
    if granularity == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return start.strftime("%Y-%m-%d")


def all_buckets(flt: KpiFilter) -> list[datetime]:
    """Every bucket of the range, also the empty ones (a plot shows the gaps)."""
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
    current = bucket_start(flt.start_ts, flt.granularity)
    end = datetime.fromtimestamp(flt.end_ts, tz=timezone.utc)
    out: list[datetime] = []
    while current < end and len(out) < 5000:
        out.append(current)
        current += step[flt.granularity]
    return out


def series(rows: Sequence[ConversationRow], flt: KpiFilter) -> list[Bucket]:
    grouped: dict[datetime, list[ConversationRow]] = {}
    for row in rows:
        grouped.setdefault(bucket_start(row.started_at, flt.granularity), []).append(row)
    return [Bucket(start, bucket_label(start, flt.granularity), compute(grouped.get(start, [])))
            for start in all_buckets(flt)]


def normalise_question(text: str) -> str:
    return " ".join(text.lower().split())


def top_intents(turns: Iterable[TurnRow], limit: int = 10) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for turn in turns:
        name = turn.final_intent or turn.intent
        if name:
            counts[name] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def top_unanswered(turns: Iterable[TurnRow], limit: int = 10) -> list[tuple[str, str, int]]:
    counts: Counter[tuple[str, str]] = Counter()
    for turn in turns:
        if not turn.text:
            continue
        if turn.knowledge == "not_found" or turn.kb_feedback == "not_helpful":
            counts[(normalise_question(turn.text), turn.language or "")] += 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(text, language, count) for (text, language), count in ordered[:limit]]


def article_feedback(turns: Iterable[TurnRow]) -> dict[str, tuple[int, int]]:
    """Per article shown by the bot: (helpful, not helpful) answers."""
    out: dict[str, list[int]] = {}
    for turn in turns:
        if turn.knowledge == "answered" and turn.article_id:
            entry = out.setdefault(turn.article_id, [0, 0])
            if turn.kb_feedback == "helpful":
                entry[0] += 1
            elif turn.kb_feedback == "not_helpful":
                entry[1] += 1
    return {article: (h, n) for article, (h, n) in out.items()}


def report(rows: Sequence[ConversationRow], turns: Sequence[TurnRow], flt: KpiFilter) -> Report:
    by_channel: dict[str, list[ConversationRow]] = {}
    by_language: dict[str, list[ConversationRow]] = {}
    for row in rows:
        by_channel.setdefault(row.channel, []).append(row)
        by_language.setdefault(row.language, []).append(row)
    return Report(
        filter=flt,
        total=compute(rows),
        series=series(rows, flt),
        by_channel={k: compute(v) for k, v in sorted(by_channel.items())},
        by_language={k: compute(v) for k, v in sorted(by_language.items())},
        top_intents=top_intents(turns),
        top_unanswered=top_unanswered(turns),
        article_feedback=article_feedback(turns),
    )
