"""The dashboard end to end, in Debian's headless Chromium driven by Playwright.

Real parts: the Rasa server and the action server (tests/support/rasa_stack.py) with Rasa's SQL
event broker, `kb serve` on the shipped articles, the analytics consumer and the dashboard as
processes, the order store; Slack is the local fake Web API. Six conversations go through the
REST channel (an agent answers and closes one handoff through Rasa's API, as the Slack app
does). The test computes the expected figures itself from the tracker (Rasa's HTTP API) and
the store's CSAT table, then in the browser: logs in, checks the KPI tiles, applies filters,
opens a transcript (the customer's e-mail address masked), marks a message, exports, and finds
the message in the exported training data. It leaves reports/dashboard.png (README).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.formatting import duration, number, pct
from handoff.relay import HandoffSettings, RasaConversations
from store.models import CsatFeedback
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.fixtures import kb_server, rasa_model, shipped_kb_index  # noqa: F401
from tests.support.knowledge import KbServer
from tests.support.rasa_stack import RasaStack, free_port, start_rasa_stack
from tests.support.store import ORDERS, make_test_store, sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = ROOT / "reports" / "dashboard.png"
USER, PASSWORD = "tove", "tove-password-123"
MISUNDERSTOOD = "could you mail the invoice to anna.berg@example.com please"
# Answers that resolve a customer's question, as the test reads them from the tracker.
ORDER_ANSWERS = ("utter_order_pending", "utter_order_paid", "utter_order_packed",
                 "utter_order_shipped", "utter_order_in_transit", "utter_order_delayed",
                 "utter_order_delivered")


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> OrderStore:
    return make_test_store(sqlite_url(tmp_path_factory.mktemp("dash-store") / "store.db"))


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def model(request: pytest.FixtureRequest) -> Path:
    """NORDVIK_TEST_MODEL names an already trained model (quick local runs), as in
    tests/handoff/stack.py; otherwise the session's model, trained if the inputs changed."""
    given = os.environ.get("NORDVIK_TEST_MODEL")
    return Path(given) if given else Path(request.getfixturevalue("rasa_model"))


@pytest.fixture(scope="module")
def stack(model: Path, crm: OrderStore, kb_server: KbServer,  # noqa: F811
          slack: FakeSlackApi, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    extra = {"KB_URL": kb_server.url, "SLACK_API_URL": slack.url, "SLACK_BOT_TOKEN": "xoxb-dash",
             "SLACK_HANDOFF_CHANNEL": "CHANDOFF", "ANALYTICS_EVENTS": "1"}
    with start_rasa_stack(tmp_path_factory.mktemp("dash-stack"), str(crm.engine.url), extra,
                          model=model) as running:
        yield running


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def spawn(argv: list[str], env: dict[str, str], log: Path) -> Process:
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out,  # noqa: S603
                                   stderr=subprocess.STDOUT)
    return Process(process, log)


@pytest.fixture(scope="module")
def analytics_env(stack: RasaStack, crm: OrderStore,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("dash-analytics")
    return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": str(crm.engine.url),
            "TRACKER_DB": stack.env["TRACKER_DB"],  # the SQL broker's file sits beside it
            "ANALYTICS_DATABASE_URL": f"sqlite:///{folder / 'analytics.db'}",
            "ANALYTICS_POLL_SECONDS": "0.2", "DASHBOARD_SECRET": "s" * 40,
            "ANALYTICS_REVIEW_FILE": str(folder / "data" / "nlu" / "review.yml")}


@pytest.fixture(scope="module")
def consumer(analytics_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Process]:
    log = tmp_path_factory.mktemp("dash-consumer") / "consumer.log"
    running = spawn([sys.executable, "-m", "analytics.consumer"], analytics_env, log)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def dashboard(analytics_env: dict[str, str], consumer: Process,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    added = subprocess.run([sys.executable, "-m", "dashboard.users", "add", USER, "--role",
                            "lead", "--password-stdin"], cwd=ROOT, env=analytics_env,
                           input=PASSWORD + "\n", text=True, capture_output=True, check=False,
                           timeout=120)
    assert added.returncode == 0, added.stderr
    port = free_port()
    log = tmp_path_factory.mktemp("dash-web") / "dashboard.log"
    running = spawn([sys.executable, "-m", "dashboard", "--port", str(port)], analytics_env, log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        assert running.process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.3)
    yield url
    running.stop()
    assert "anna.berg" not in log.read_text()  # no customer address in the dashboard's log


def press(replies: list[dict[str, Any]], prefix: str, contains: str = "") -> str:
    """The payload of a button the bot just offered."""
    for reply in replies:
        for button in reply.get("buttons") or []:
            payload = str(button.get("payload") or "")
            if payload.startswith(prefix) and contains in payload:
                return payload
    raise AssertionError(f"no {prefix} button in {replies}")


@pytest.fixture(scope="module")
def conversations(stack: RasaStack, crm: OrderStore, slack: FakeSlackApi) -> dict[str, str]:
    """Six customers; the sender ids by role."""
    tag = datetime.now(timezone.utc).strftime("%H%M%S")
    senders = {name: f"dash-{name}-{tag}" for name in
               ("faq", "order", "handoff", "swedish", "misunderstood", "gibberish")}
    say = stack.say
    say(senders["faq"], "how long does shipping take to Sweden?")
    say(senders["faq"], "bye")

    order = ORDERS["in_transit"]
    say(senders["order"], "where is my order?")
    say(senders["order"], order.number)
    say(senders["order"], order.email)
    replies = say(senders["order"], "thanks!")
    replies = say(senders["order"], press(replies, "/csat_rating", '"5"'))
    say(senders["order"], "/csat_skip")

    say(senders["handoff"], "I want to talk to a person")
    case = crm.find_open_handoff(senders["handoff"])
    assert case is not None, "the handoff did not reach the fake Slack"
    relay = RasaConversations(HandoffSettings.from_env(
        {**stack.env, "RASA_URL": stack.base_url}))
    time.sleep(2.0)
    relay.trigger(senders["handoff"], "EXTERNAL_agent_message",
                  {"agent_message": "Hi, Anna from customer service here."})
    time.sleep(2.0)
    crm.close_case(case.id, "resolved in chat")
    relay.trigger(senders["handoff"], "EXTERNAL_handoff_closed")
    tracker = stack.tracker(senders["handoff"])
    bot = [e for e in tracker["events"] if e.get("event") == "bot"]
    assert any(b.get("buttons") or (b.get("data") or {}).get("buttons") for b in bot[-2:])
    say(senders["handoff"], '/csat_rating{"csat_rating": "2"}')
    say(senders["handoff"], "/csat_skip")

    replies = say(senders["swedish"], "hur lång tid tar det innan jag får tillbaka pengarna "
                                      "för en retur?")
    if any("/affirm" in str(r.get("buttons")) for r in replies):
        say(senders["swedish"], "/affirm")

    say(senders["misunderstood"], MISUNDERSTOOD)
    say(senders["gibberish"], "blorp zxq vuu")
    replies = say(senders["gibberish"], "qqq ppp blorp")
    if any("/deny" in str(r.get("buttons")) for r in replies):
        say(senders["gibberish"], "/deny")
    return senders


@dataclass(frozen=True)
class Expected:
    conversations: int
    contained: int
    handoffs: int
    csat: list[int]
    first_response: float
    swedish: int


def _intent(event: dict[str, Any]) -> str:
    return str((event.get("parse_data") or {}).get("intent", {}).get("name") or "")


def served(events: list[dict[str, Any]], responses: list[str]) -> bool:
    """Contained, as issue 26 defines it: no order task left unfinished, and an FAQ or order
    answer, a knowledge answer the next message did not reject, or the customer's thanks."""
    tasks = [i for i, e in enumerate(events) if e.get("event") == "user"
             and _intent(e) in ("check_order_status", "cancel_order", "start_return")]
    answers = [i for i, e in enumerate(events) if e.get("event") == "bot"
               and str((e.get("metadata") or {}).get("utter_action") or "") in ORDER_ANSWERS]
    if tasks and (not answers or answers[-1] < tasks[-1]):
        return False
    for i, event in enumerate(events):
        if event.get("event") == "bot" and (event.get("metadata") or {}).get(
                "utter_action") == "utter_kb_answer":
            following = [_intent(e) for e in events[i:] if e.get("event") == "user"]
            if not following or following[0] not in ("deny", "request_human"):
                return True
    return (any(r.startswith("utter_faq/") or r in ORDER_ANSWERS or r == "utter_kb_glad"
                for r in responses)
            or any(e.get("event") == "user" and _intent(e) == "thank" for e in events))


def expected_figures(stack: RasaStack, crm: OrderStore, senders: dict[str, str]) -> Expected:
    """From the tracker (Rasa's API) and the store, without the analytics code."""
    conversations = contained = handoffs = swedish = 0
    first_response = 0.0
    for sender in senders.values():
        events = stack.tracker(sender)["events"]
        customer = [e for e in events if e.get("event") == "user"
                    and not str((e.get("parse_data") or {}).get("intent", {}).get("name") or "")
                    .startswith("EXTERNAL_")]
        if not customer:
            continue
        conversations += 1
        actions = [e for e in events if e.get("event") == "action"]
        handed = [e for e in actions if e.get("name") == "action_handoff_to_human"]
        responses = [str((e.get("metadata") or {}).get("utter_action") or "")
                     for e in events if e.get("event") == "bot"]
        if handed:
            handoffs += 1
            reply = next(e for e in events if e.get("event") == "user" and (
                e.get("parse_data") or {}).get("intent", {}).get("name") ==
                "EXTERNAL_agent_message")
            first_response = float(reply["timestamp"]) - float(handed[0]["timestamp"])
        elif served(events, responses):
            contained += 1
        languages = [e.get("value") for e in events
                     if e.get("event") == "slot" and e.get("name") == "language"]
        swedish += int(bool(languages) and languages[-1] == "sv")
    with Session(crm.engine, future=True) as session:
        ratings = [r for (r,) in session.execute(select(CsatFeedback.rating).where(
            CsatFeedback.conversation_id.in_(list(senders.values()))))]
    return Expected(conversations, contained, handoffs, sorted(ratings), first_response,
                    swedish)


def wait_for_facts(analytics_env: dict[str, str], count: int, timeout: float = 120.0) -> None:
    from analytics.db import make_engine
    from analytics.queries import conversation_count

    engine = make_engine(analytics_env["ANALYTICS_DATABASE_URL"])
    deadline = time.monotonic() + timeout
    try:
        while conversation_count(engine) < count:
            assert time.monotonic() < deadline, "the consumer did not catch up"
            time.sleep(0.5)
        time.sleep(2.0)  # the last events of the last conversation
    finally:
        engine.dispose()


def tile(page: Any, key: str) -> str:
    return str(page.locator(f'[data-kpi="{key}"] .value').inner_text()).strip()


def test_dashboard_in_a_browser(stack: RasaStack, crm: OrderStore, conversations: dict[str, str],
                                analytics_env: dict[str, str], dashboard: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: run `make setup-web`"
    expected = expected_figures(stack, crm, conversations)
    assert expected.conversations == 6 and expected.handoffs == 1
    assert expected.csat == [2, 5]
    wait_for_facts(analytics_env, expected.conversations)
    today = datetime.now(timezone.utc).date().isoformat()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            # no login: no data, the login page instead
            page.goto(f"{dashboard}/overview")
            expect(page).to_have_url(re.compile(r"/login\?next="))
            page.fill("input[name=name]", USER)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            expect(page).to_have_url(re.compile(r"/overview"))

            page.goto(f"{dashboard}/overview?from={today}&to={today}")
            assert tile(page, "conversations") == str(expected.conversations)
            assert tile(page, "containment") == pct(expected.contained / expected.conversations)
            assert tile(page, "handoff_rate") == pct(expected.handoffs / expected.conversations)
            assert tile(page, "csat_mean") == number(sum(expected.csat) / len(expected.csat))
            assert tile(page, "first_response_median") == duration(expected.first_response)
            expect(page.locator("img.plot-conversations")).to_be_visible()
            page.wait_for_timeout(1500)  # the plots load
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=False)

            # a filter: Swedish only
            page.select_option("select[name=language]", "sv")
            page.click("#apply-filters")
            expect(page).to_have_url(re.compile(r"language=sv"))
            assert tile(page, "conversations") == str(expected.swedish)

            # the conversations with a handoff, then the misunderstood message's transcript
            page.goto(f"{dashboard}/conversations?from={today}&to={today}")
            page.check("input[name=show][value=handoff]")
            page.click("#apply-filters")
            expect(page.locator("tr.conversation")).to_have_count(expected.handoffs)
            page.goto(f"{dashboard}/conversations?from={today}&to={today}")
            row = page.locator("tr.conversation", has_text=conversations["misunderstood"][:20])
            row.locator("a.open").click()
            expect(page.locator("ol.transcript")).to_contain_text("[e-mail]")
            assert "anna.berg" not in page.content()
            line = page.locator("li.customer", has_text="could you mail the invoice")
            line.locator("select[name=intent]").select_option("faq/invoices")
            line.locator("button[type=submit]").click()
            expect(page.locator("li.customer", has_text="could you mail the invoice")
                   ).to_contain_text("marked as faq/invoices")

            # export the marked message as training data
            page.goto(f"{dashboard}/review")
            page.click("#export")
            expect(page.locator("#export-result")).to_contain_text("Exported 1 example")
        finally:
            browser.close()
    exported = yaml.safe_load(Path(analytics_env["ANALYTICS_REVIEW_FILE"]).read_text())
    assert {"intent": "faq/invoices",
            "examples": "- could you mail the invoice to customer@example.com please\n"
            } in exported["nlu"]
    assert SCREENSHOT.stat().st_size > 20_000


def test_demo_data_drives_the_real_bot_in_four_languages(
        stack: RasaStack, analytics_env: dict[str, str], consumer: Process,
        conversations: dict[str, str]) -> None:
    """`make demo-data` on a small scale: conversations through the REST channel, which the
    consumer turns into facts in all four languages."""
    from sqlalchemy import select as sql_select

    from analytics import db
    from analytics.db import make_engine

    # the demo is internal traffic: it carries the installation's Rasa API token, as under make run
    env = {**analytics_env, "DATABASE_URL": stack.env["DATABASE_URL"], "RASA_TOKEN": stack.token}
    done = subprocess.run([sys.executable, "-m", "analytics.demo", "--conversations", "16",
                           "--pause", "0", "--wait", "30", "--rasa-url", stack.base_url],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "16 conversations" in done.stdout and ", 0 refused, 0 errors" in done.stdout
    engine = make_engine(analytics_env["ANALYTICS_DATABASE_URL"])
    try:
        deadline = time.monotonic() + 120
        while True:
            with db.transaction(engine) as conn:
                rows = conn.execute(sql_select(db.conversations.c.sender_id,
                                               db.conversations.c.language)).all()
            demo = [r for r in rows if r.sender_id.startswith("demo-")]
            if len(demo) >= 16 or time.monotonic() > deadline:
                break
            time.sleep(1.0)
    finally:
        engine.dispose()
    assert len(demo) == 16
    # the demo's plan names each conversation's language; the facts agree for most of them
    planned = {r.sender_id: r.sender_id.split("-")[2] for r in demo}
    assert set(planned.values()) == {"en", "sv", "nb", "zh"}
    agree = sum(planned[r.sender_id] == r.language for r in demo)
    assert agree >= 12, [(r.sender_id, r.language) for r in demo]
