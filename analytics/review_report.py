"""The review report: customer messages worth a look, grouped by language and guessed intent.

A message is in it when the bot did not understand it (a fallback), asked "did you mean ...?"
about it (a clarification), or it sat in a conversation rated `low_csat` or lower (CSAT 1-2 by
default). The guessed intent is the bot's guess in its clarifying question, else the NLU's best
intent below its fallback, else the intent it was understood as. Button presses ("/...") and
answers to the rating question are left out: they are not phrasings to learn from.

The texts are for the team lead on the dashboard's review page, where a message is opened in
its transcript and marked with the intent it should have had (analytics/review.py exports the
marks as training data). `python -m analytics.review --report` prints the counts only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Engine

from analytics import db, mapping
from analytics.kpis import KpiFilter
from nordvik.text import redact_emails

REASONS = ("fallback", "clarified", "low_csat")
REASON_LABELS = {"fallback": "not understood", "clarified": "did you mean",
                 "low_csat": "low CSAT"}
NO_GUESS = "(no guess)"
MAX_ITEMS = 2000


@dataclass(frozen=True)
class ReviewItem:
    event_key: str
    conversation_id: str
    ts: float
    text: str                  # e-mail addresses masked
    language: str
    guess: str
    reasons: tuple[str, ...]   # of REASONS
    mark: str | None = None    # the intent a reviewer marked it with


@dataclass
class ReviewGroup:
    language: str
    guess: str
    items: list[ReviewItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    def reason_count(self, reason: str) -> int:
        return sum(reason in item.reasons for item in self.items)

    @property
    def marked(self) -> int:
        return sum(item.mark is not None for item in self.items)


@dataclass(frozen=True)
class ReviewReport:
    filter: KpiFilter
    low_csat: int
    groups: list[ReviewGroup]          # by language, then the largest group first
    truncated: bool = False

    @property
    def total(self) -> int:
        return sum(g.count for g in self.groups)

    def by_language(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for group in self.groups:
            out[group.language] = out.get(group.language, 0) + group.count
        return out

    def by_reason(self) -> dict[str, int]:
        return {r: sum(g.reason_count(r) for g in self.groups) for r in REASONS}


def reasons_of(row: dict[str, Any], low_csat: int) -> tuple[str, ...]:
    """Why a customer message (a turn row with its conversation's csat_rating) is in the report."""
    text = str(row.get("text") or "").strip()
    if not text or text.startswith("/"):
        return ()
    found = []
    if row.get("fallback"):
        found.append("fallback")
    if row.get("clarified"):
        found.append("clarified")
    rating = row.get("csat_rating")
    answer_to_rating = (row.get("final_intent") or row.get("intent")) in mapping.CSAT_INTENTS
    if rating is not None and rating <= low_csat and not answer_to_rating:
        found.append("low_csat")
    return tuple(found)


def guessed_intent(row: dict[str, Any]) -> str:
    return str(row.get("guess") or row.get("final_intent") or row.get("intent") or NO_GUESS)


def group_items(items: Iterable[ReviewItem]) -> list[ReviewGroup]:
    groups: dict[tuple[str, str], ReviewGroup] = {}
    for item in items:
        key = (item.language, item.guess)
        groups.setdefault(key, ReviewGroup(*key)).items.append(item)
    for group in groups.values():
        group.items.sort(key=lambda i: i.ts, reverse=True)
    return sorted(groups.values(), key=lambda g: (g.language, -g.count, g.guess))


def review_report(engine: Engine, flt: KpiFilter, *, low_csat: int = 2,
                  limit: int = MAX_ITEMS) -> ReviewReport:
    """The report of conversations that started in the filter's range (and channel, language)."""
    t, c, m = db.turns.c, db.conversations.c, db.review_marks.c
    stmt = (
        select(t.event_key, t.conversation_id, t.ts, t.text, t.intent, t.final_intent,
               t.language, t.fallback, t.clarified, t.guess, c.csat_rating,
               c.language.label("conversation_language"), m.intent.label("mark"))
        .join(db.conversations, t.conversation_id == c.conversation_id)
        .outerjoin(db.review_marks, m.event_key == t.event_key)
        .where(c.started_at >= flt.start_ts, c.started_at < flt.end_ts)
        .where(or_(t.fallback.is_(True), t.clarified.is_(True),
                   and_(c.csat_rating.is_not(None), c.csat_rating <= low_csat)))
        .order_by(t.ts.desc())
    )
    if flt.channel:
        stmt = stmt.where(c.channel == flt.channel)
    if flt.language:
        stmt = stmt.where(c.language == flt.language)
    items: list[ReviewItem] = []
    truncated = False
    with db.transaction(engine) as conn:
        for row in conn.execute(stmt):
            values = dict(row._mapping)
            reasons = reasons_of(values, low_csat)
            if not reasons:
                continue
            if len(items) >= limit:
                truncated = True
                break
            items.append(ReviewItem(
                event_key=values["event_key"], conversation_id=values["conversation_id"],
                ts=float(values["ts"]), text=redact_emails(values["text"] or ""),
                language=values["language"] or values["conversation_language"] or "",
                guess=guessed_intent(values), reasons=reasons, mark=values["mark"]))
    return ReviewReport(filter=flt, low_csat=low_csat, groups=group_items(items),
                        truncated=truncated)


def render_counts(report: ReviewReport) -> str:
    """The report as plain text without any message (what the command line prints)."""
    flt = report.filter
    lines = [f"Messages to review, conversations started {flt.start} to {flt.end}: "
             f"{report.total}" + (" (the newest only)" if report.truncated else ""),
             "  " + ", ".join(f"{REASON_LABELS[r]} {n}" for r, n in report.by_reason().items())
             + f" (low CSAT: rated {report.low_csat} or lower)"]
    if not report.groups:
        return "\n".join(lines + ["  none"])
    width = max(len(g.guess) for g in report.groups)
    lines.append(f"  {'language':8}  {'guessed intent':{width}}  messages  "
                 + "  ".join(REASON_LABELS[r] for r in REASONS) + "  marked")
    for g in report.groups:
        counts = "  ".join(f"{g.reason_count(r):>{len(REASON_LABELS[r])}}" for r in REASONS)
        lines.append(f"  {g.language or '?':8}  {g.guess:{width}}  {g.count:>8}  {counts}"
                     f"  {g.marked:>6}")
    lines.append("Read and mark the messages on the dashboard's review page (team leads).")
    return "\n".join(lines)
