"""Conversation review: mark a misunderstood customer message with the intent it should have had,
and export the marks as Rasa NLU training data.

The review report (analytics/review_report.py) lists the messages worth marking;
`python -m analytics.review --report` prints its counts.

The export writes one YAML file (default `data/nlu/review.yml`, `ANALYTICS_REVIEW_FILE`), which
the next `make train` picks up with the rest of data/. Nothing retrains here. Messages whose
text already is a training example are left out (with the intent they have there), so the file
never contradicts data/nlu. E-mail addresses were removed at ingest; the export writes a
neutral example address in their place, so the e-mail regex still sees an address.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine

from analytics import db, mapping
from analytics.db import get_engine
from analytics.kpis import KpiFilter
from analytics.migrate import upgrade
from analytics.review_report import render_counts, review_report
from analytics.settings import AnalyticsError, AnalyticsSettings
from nordvik.env import REPO_ROOT
from nordvik.text import REDACTED

logger = logging.getLogger(__name__)

RETRIEVAL_PREFIX = "utter_"
EXAMPLE_ADDRESS = "customer@example.com"
_ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\}|\[[^\]]*\])")
HEADER = ("# Messages marked in the dashboard's conversation review (analytics/review.py).\n"
          "# Written by the export; the next `make train` uses it. Review before committing.\n")


class ReviewError(AnalyticsError):
    """A mark that cannot be made: unknown message or intent, or an unwritable export file."""


def intent_choices(domain_dir: Path = REPO_ROOT / "domain") -> list[str]:
    """Intents a message can be marked with: the domain's intents and `faq/<topic>`."""
    intents: set[str] = set()
    topics: set[str] = set()
    retrieval: set[str] = set()
    paths = sorted(domain_dir.glob("*.yml")) if domain_dir.is_dir() else [domain_dir]
    for path in paths:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("intents") or []:
            name = next(iter(item)) if isinstance(item, dict) else str(item)
            intents.add(name)
        for response in (data.get("responses") or {}):
            if "/" in response and response.startswith(RETRIEVAL_PREFIX):
                base, topic = response[len(RETRIEVAL_PREFIX):].split("/", 1)
                retrieval.add(base)
                topics.add(f"{base}/{topic}")
    usable = {i for i in intents if not i.startswith(mapping.EXTERNAL_PREFIX)} - retrieval
    return sorted(usable) + sorted(topics)


@dataclass(frozen=True)
class Mark:
    event_key: str
    conversation_id: str
    text: str
    predicted_intent: str | None
    intent: str
    marked_by: str
    marked_at: float
    exported_at: float | None


def mark_message(engine: Engine, event_key: str, intent: str, *, marked_by: str,
                 choices: Iterable[str] | None = None) -> Mark:
    """Mark a customer message (by its event key) with the right intent; again replaces it."""
    allowed = set(choices if choices is not None else intent_choices())
    if intent not in allowed:
        raise ReviewError(f"{intent!r} is not an intent of the assistant")
    t = db.turns.c
    now = time.time()
    with db.transaction(engine, write=True) as conn:
        turn = conn.execute(select(db.turns).where(t.event_key == event_key)).first()
        if turn is None:
            raise ReviewError("no customer message with that key")
        m = turn._mapping
        values: dict[str, Any] = {
            "conversation_id": m["conversation_id"], "sender_id": m["sender_id"],
            "text": m["text"] or "",
            "predicted_intent": m["final_intent"] or m["intent"], "intent": intent,
            "marked_by": marked_by[:100], "marked_at": now, "exported_at": None,
        }
        changed = conn.execute(update(db.review_marks).where(
            db.review_marks.c.event_key == event_key).values(**values)).rowcount
        if not changed:
            conn.execute(insert(db.review_marks).values(event_key=event_key, **values))
    logger.info("review: a message was marked as %s", intent)
    return Mark(event_key=event_key, exported_at=None, **{
        k: v for k, v in values.items() if k not in ("exported_at", "sender_id")})


def unmark_message(engine: Engine, event_key: str) -> bool:
    with db.transaction(engine, write=True) as conn:
        return bool(conn.execute(
            delete(db.review_marks).where(db.review_marks.c.event_key == event_key)).rowcount)


def marks(engine: Engine) -> list[Mark]:
    with db.transaction(engine) as conn:
        rows = conn.execute(select(db.review_marks).order_by(db.review_marks.c.marked_at.desc()))
        return [Mark(**{k: r._mapping[k] for k in (
            "event_key", "conversation_id", "text", "predicted_intent", "intent", "marked_by",
            "marked_at", "exported_at")}) for r in rows]


def training_text(text: str) -> str:
    """One line of a Rasa example: whitespace collapsed, no entity syntax, an example address."""
    line = " ".join(text.split()).replace(REDACTED, EXAMPLE_ADDRESS)
    return line.replace("[", "(").replace("]", ")")


def _plain(example: str) -> str:
    return " ".join(_ANNOTATION.sub(r"\1", example).lower().split())


def existing_examples(data_dir: Path, skip: Path | None = None) -> dict[str, str]:
    """Every NLU example under data_dir (lower-cased, annotations removed) -> its intent."""
    known: dict[str, str] = {}
    for path in sorted(data_dir.rglob("*.yml")):
        if skip is not None and path.resolve() == skip.resolve():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            logger.warning("review: %s is not readable YAML; its examples are not checked", path)
            continue
        for item in data.get("nlu") or [] if isinstance(data, dict) else []:
            if not isinstance(item, dict) or "intent" not in item:
                continue
            for line in str(item.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    known.setdefault(_plain(line[2:]), str(item["intent"]))
    return known


@dataclass(frozen=True)
class ExportResult:
    path: Path
    written: int
    skipped_known: list[tuple[str, str]]       # (text, intent it has in data/)
    intents: dict[str, int]


class _Literal(str):
    pass


class _Dumper(yaml.SafeDumper):
    """Example blocks as literal scalars (`examples: |`), the way Rasa's files look."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


_Dumper.add_representer(_Literal, _literal)


def export(engine: Engine, path: Path, *, data_dir: Path = REPO_ROOT / "data") -> ExportResult:
    """Write every mark into `path` as Rasa NLU training data (the whole file is rewritten)."""
    known = existing_examples(data_dir, skip=path)
    by_intent: dict[str, list[str]] = {}
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    all_marks = marks(engine)
    for mark in sorted(all_marks, key=lambda m: m.marked_at):
        line = training_text(mark.text)
        plain = _plain(line)
        if not plain or plain in seen:
            continue
        seen.add(plain)
        if plain in known:
            skipped.append((line, known[plain]))
            continue
        by_intent.setdefault(mark.intent, []).append(line)
    document = {
        "version": "3.1",
        "nlu": [
            {"intent": intent, "examples": _Literal("".join(f"- {x}\n" for x in examples))}
            for intent, examples in sorted(by_intent.items())
        ],
    }
    text = HEADER + yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              width=1000)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".review-", suffix=".yml")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temp, path)
    except OSError as exc:
        raise ReviewError(f"cannot write the review file {path}: {exc.strerror}") from exc
    now = time.time()
    with db.transaction(engine, write=True) as conn:
        conn.execute(update(db.review_marks).values(exported_at=now))
    written = sum(len(v) for v in by_intent.values())
    logger.info("review: %s examples exported (%s already in the training data)",
                written, len(skipped))
    return ExportResult(path=path, written=written, skipped_known=skipped,
                        intents={k: len(v) for k, v in by_intent.items()})


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from exc


def main(argv: list[str] | None = None) -> int:
    """`python -m analytics.review --report`: the review report's counts (no message text)."""
    parser = argparse.ArgumentParser(description="Conversation review from the command line.")
    parser.add_argument("--report", action="store_true", required=True,
                        help="messages with a fallback, a clarification or a low CSAT, counted "
                             "by language and guessed intent")
    parser.add_argument("--from", dest="start", type=_day, help="first day (UTC)")
    parser.add_argument("--to", dest="end", type=_day, help="last day (UTC), inclusive")
    parser.add_argument("--low-csat", type=int, choices=range(1, 6), metavar="1-5",
                        help="a rating this low or lower is low (default ANALYTICS_LOW_CSAT)")
    args = parser.parse_args(argv)
    end = args.end or datetime.now(timezone.utc).date()
    start = args.start or end - timedelta(days=29)
    try:
        flt = KpiFilter(start=start, end=end)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        settings = AnalyticsSettings.from_env()
        upgrade(settings.database_url)
        found = review_report(get_engine(settings), flt,
                              low_csat=args.low_csat or settings.low_csat)
    except AnalyticsError as exc:
        print(f"review: {exc}", file=sys.stderr)
        return 1
    print(render_counts(found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
