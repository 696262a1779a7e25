"""What the phone tests share: callers with their own orders, stacks with the phone channel on,
and a call that checks Twilio's TwiML rules on every page it gets."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from analytics.events import EventRecord, compact
from analytics.facts import ConversationFact, build_facts
from store.models import Customer, Order
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.rasa_stack import RasaStack, free_port, start_rasa_stack
from tests.support.store import add_order
from tests.voice.twiml_rules import check_twiml
from voice.player import CallPlayer, Page

AUTH_TOKEN = "twilio-test-auth-token"  # a test value, never a real one
HANDOFF_CHANNEL = "CPHONE"
AGENTS = "+46812345699"
OTHER_CALLER = "+46709999999"
NUMBERS = {"en": "+46812345603", "sv": "+46812345601", "nb": "+46812345602",
           "zh": "+46812345604"}
POSTCODE = "11122"  # tests.support.store.add_order delivers to "Storgatan 1, 111 22 Stockholm"


# asking for a person, as a caller says it
PERSON = {"en": "I want to talk to a human", "sv": "jag vill prata med en människa",
          "nb": "jeg vil snakke med et menneske", "zh": "我要找真人"}


@dataclass(frozen=True)
class Caller:
    language: str
    phone: str
    status_order: str  # in transit
    cancel_order: str  # paid, not shipped
    return_order: str  # delivered 5 days ago


CALLERS = {
    lang: Caller(lang, f"+4670555000{i}", f"A5{i}001", f"A5{i}002", f"A5{i}003")
    for i, lang in enumerate(("en", "sv", "nb", "zh"), start=1)
}


def add_callers(crm: OrderStore) -> None:
    """Each language's caller: a customer with a phone number and two orders."""
    for caller in CALLERS.values():
        email = f"{caller.language}.caller@example.com"
        add_order(crm, number=caller.status_order, email=email, status="in_transit",
                  language=caller.language)
        add_order(crm, number=caller.cancel_order, email=email, status="paid",
                  language=caller.language)
        add_order(crm, number=caller.return_order, email=email, status="delivered",
                  language=caller.language, delivered_days_ago=5)
        national = "0" + caller.phone[3:]  # stored as typed, national format: 070...
        with Session(crm.engine, future=True) as session, session.begin():
            session.execute(update(Customer).where(Customer.email == email)
                            .values(phone=national))


def order_status(crm: OrderStore, number: str) -> str:
    with Session(crm.engine, future=True) as session:
        return str(session.execute(select(Order.status).where(Order.number == number))
                   .scalar_one())


def voice_env(slack: FakeSlackApi, hours: str) -> dict[str, str]:
    return {
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "VOICE_AGENTS_NUMBER": AGENTS, "VOICE_HOURS": hours,
        **{f"VOICE_NUMBER_{lang.upper()}": number for lang, number in NUMBERS.items()},
        "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-phone",
        "SLACK_HANDOFF_CHANNEL": HANDOFF_CHANNEL, "VERIFY_MAX_PER_CLIENT": "0",
        "KB_URL": f"http://127.0.0.1:{free_port()}",  # no kb serve: FAQ answers need none
    }


@contextmanager
def voice_stack(tmp: Path, crm: OrderStore, slack: FakeSlackApi, hours: str,
                model: Path) -> Iterator[RasaStack]:
    with start_rasa_stack(tmp, str(crm.engine.url), voice_env(slack, hours),
                          model=model) as stack:
        yield stack


def broker_events(stack: RasaStack) -> dict[str, list[EventRecord]]:
    """The calls' events as the analytics consume them (Rasa's SQL event broker), per sender."""
    events_db = Path(stack.env["TRACKER_DB"]).parent / "events.db"
    with sqlite3.connect(events_db) as db:
        rows = db.execute("SELECT sender_id, data FROM events WHERE sender_id LIKE 'phone-%' "
                          "ORDER BY id").fetchall()
    by_sender: dict[str, list[EventRecord]] = {}
    for sender, data in rows:
        by_sender.setdefault(sender, []).append(compact(json.loads(data)))
    return by_sender


def analytics_facts(stack: RasaStack, sender: str | None = None) -> list[ConversationFact]:
    """The analytics' conversation facts of the calls (of one conversation, if given)."""
    return [fact for each, events in broker_events(stack).items()
            if sender in (None, each) for fact in build_facts(each, events)]


class Call(CallPlayer):
    """A call whose every page must keep the TwiML rules, in the call's language."""

    def __init__(self, stack: RasaStack, language: str, *, caller: str,
                 dialled: str | None = None) -> None:
        super().__init__(f"{stack.base_url}/webhooks/phone", AUTH_TOKEN, caller=caller,
                         dialled=dialled or NUMBERS[language])
        self.language = language
        self.heard: list[str] = []

    def send(self, url: str, fields: dict[str, str], headers: dict[str, str]) -> Page:
        page = super().send(url, fields, headers)
        if page.status == 200:
            problems = check_twiml(page.xml, self.language)
            assert problems == [], f"{problems} in {page.xml}"
            self.heard.append(page.text)
        return page
