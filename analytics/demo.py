"""Demo data: realistic conversations in English, Swedish, Norwegian and Chinese, made by
driving the real bot through its REST channel (nothing is inserted into any table).

    python -m analytics.demo [--conversations 48] [--seed 7] [--rasa-url URL] [--wait 300]

`make demo-data` runs it against the running services; `make run` starts it in the background
once the services are up when the analytics database holds no conversation yet
(`demo_wanted`, `start_demo`). Order conversations use real seeded orders (`store.sample_orders`).

A conversation is a list of moves. `Say` types a message; `Press` clicks a button the bot just
offered (yes, no, a person, a rating, skip) and is left out when the bot offered none, so the
scripts survive changes to the dialogue. To add a flow, add a function to FLOWS (for all
languages) or to LOCAL_FLOWS (per language).
"""

from __future__ import annotations

import argparse
import logging
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.db import AnalyticsUnavailable, make_engine
from analytics.migrate import upgrade
from analytics.queries import conversation_count
from analytics.rest_client import RestClient
from analytics.settings import AnalyticsError, AnalyticsSettings
from nordvik.env import REPO_ROOT, env_int, env_str
from nordvik.secrets import rasa_api_token
from store import get_store
from store.errors import StoreError

logger = logging.getLogger(__name__)
DEFAULT_CONVERSATIONS = 48


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class Press:
    """Click the button whose payload starts with one of these (the first offered wins)."""

    payloads: tuple[str, ...]
    rating: int | None = None


YES, NO, PERSON, SKIP = Press(("/affirm",)), Press(("/deny",)), Press(("/request_human",)), \
    Press(("/csat_skip",))


def rate(score: int) -> Press:
    return Press(("/csat_rating",), rating=score)


Move = Say | Press


@dataclass
class Conversation:
    language: str
    flow: str
    moves: list[Move] = field(default_factory=list)


Order = tuple[str, str, str]  # status, number, e-mail
Flow = Callable[[random.Random, list[Order]], list[Move]]

# --- what customers say, per language --------------------------------------------------------
GREETINGS = {"en": ["hi", "hello there", "good morning"], "sv": ["hej", "hej hej", "god morgon"],
             "nb": ["hei", "hallo", "god morgen"], "zh": ["你好", "哈囉", "早安"]}
THANKS = {"en": ["thanks!", "thank you, that helps", "great, thanks"],
          "sv": ["tack!", "tack så mycket"], "nb": ["takk!", "tusen takk"],
          "zh": ["謝謝", "謝謝你的幫忙"]}
BYE = {"en": ["bye", "that's all, bye"], "sv": ["hej då"], "nb": ["ha det"], "zh": ["再見"]}
QUESTIONS = {
    "en": ["how long does shipping take to Sweden?", "what is your return policy?",
           "which payment methods do you accept?", "how do I reset my password?",
           "do you ship to Taiwan and who pays the customs?", "when will I get my refund?",
           "my lamp arrived broken, what do I do?", "how long is the warranty on headphones?",
           "can I change the delivery address after ordering?", "are gift cards refundable?"],
    "sv": ["hur lång tid tar leveransen inom Sverige?", "hur gör jag för att returnera en vara?",
           "vilka betalningssätt kan jag använda?", "när får jag tillbaka pengarna för min retur?",
           "jag har glömt mitt lösenord, vad gör jag?", "hur länge gäller ett presentkort?",
           "min lampa kom trasig, vad gör jag nu?"],
    "nb": ["hvor lang tid tar leveringen til Norge?", "hvordan returnerer jeg en vare?",
           "hvilke betalingsmåter tar dere imot?", "når får jeg pengene tilbake?",
           "jeg har glemt passordet mitt", "hvor lenge gjelder et gavekort?",
           "varen kom i stykker, hva gjør jeg?"],
    "zh": ["寄到台灣需要多久？", "請問要怎麼退貨？", "可以用哪些付款方式？", "退款什麼時候會到帳？",
           "我忘記密碼了怎麼辦？", "禮品卡的有效期限是多久？", "收到的商品壞掉了怎麼辦？"],
}
# Questions no intent or FAQ topic covers that the help articles answer (knowledge fallback).
KNOWLEDGE = {
    "en": ["how do I unsubscribe from your newsletter?", "is your packaging recyclable?",
           "how do I assemble the bookshelf?", "when will the lamp be back in stock?",
           "I never got an order confirmation e-mail", "can I pay with Klarna in instalments?",
           "my parcel was delivered to the wrong address"],
    "sv": ["jag har inte fått någon orderbekräftelse", "kan jag dela upp betalningen med Klarna?"],
    "nb": ["jeg har ikke fått ordrebekreftelse", "kan jeg delbetale med Klarna?"],
    "zh": ["我沒有收到訂單確認信", "可以用 Klarna 分期付款嗎？"],
}
OFF_TOPIC = {
    "en": ["do you have the Oslo sofa in dark blue?", "can I get a discount code?",
           "what's the weather like in Stockholm?", "my card was declined at checkout"],
    "sv": ["har ni soffan Oslo i mörkblått?", "kan jag få en rabattkod?"],
    "nb": ["har dere sofaen Oslo i mørkeblått?", "kan jeg få en rabattkode?"],
    "zh": ["Oslo 沙發有深藍色的嗎？", "可以給我折扣碼嗎？"],
}
PERSON_REQUESTS = {"en": ["can I talk to a person please", "I want to speak to a human"],
                   "sv": ["kan jag prata med en människa?"],
                   "nb": ["kan jeg snakke med et menneske?"], "zh": ["我想找真人客服"]}
ORDER_QUESTIONS = {"en": ["where is my order?", "has my parcel shipped yet?"],
                   "sv": ["var är min beställning?"], "nb": ["hvor er bestillingen min?"],
                   "zh": ["我的訂單到哪裡了？"]}
COMMENTS = ["quick and easy", "very helpful", "took a while but fine", "good bot"]


def _pick(rng: random.Random, options: Mapping[str, list[str]], language: str) -> str:
    return rng.choice(options.get(language) or options["en"])


def _csat(rng: random.Random) -> list[Move]:
    score = rng.choices([5, 4, 3, 2, 1], weights=[45, 30, 12, 8, 5])[0]
    comment: Move = Say(rng.choice(COMMENTS)) if rng.random() < 0.4 else SKIP
    return [rate(score), comment] if rng.random() < 0.8 else [SKIP]


def _order(rng: random.Random, orders: list[Order], statuses: tuple[str, ...]) -> Order | None:
    matching = [o for o in orders if o[0] in statuses]
    return rng.choice(matching) if matching else None


def _language_flows(language: str) -> dict[str, Flow]:
    def faq(rng: random.Random, orders: list[Order]) -> list[Move]:
        moves: list[Move] = []
        if rng.random() < 0.6:
            moves.append(Say(_pick(rng, GREETINGS, language)))
        moves.append(Say(_pick(rng, QUESTIONS, language)))
        moves.append(YES if rng.random() < 0.7 else NO)
        if rng.random() < 0.5:
            moves.append(Say(_pick(rng, THANKS, language)))
        moves.append(Say(_pick(rng, BYE, language)))
        return moves

    def knowledge(rng: random.Random, orders: list[Order]) -> list[Move]:
        moves: list[Move] = [Say(_pick(rng, KNOWLEDGE, language))]
        moves.append(YES if rng.random() < 0.65 else NO)
        if rng.random() < 0.4:
            moves.append(Say(_pick(rng, THANKS, language)))
        return moves

    def off_topic(rng: random.Random, orders: list[Order]) -> list[Move]:
        moves: list[Move] = [Say(_pick(rng, OFF_TOPIC, language))]
        moves.append(NO if rng.random() < 0.7 else YES)
        if rng.random() < 0.4:
            moves += [Say(_pick(rng, OFF_TOPIC, language)), PERSON]
        return moves

    def person(rng: random.Random, orders: list[Order]) -> list[Move]:
        moves: list[Move] = [Say(_pick(rng, GREETINGS, language))] if rng.random() < 0.5 else []
        return [*moves, Say(_pick(rng, PERSON_REQUESTS, language))]

    def order_status(rng: random.Random, orders: list[Order]) -> list[Move]:
        order = _order(rng, orders, ("in_transit", "shipped", "delayed", "delivered", "paid"))
        if order is None:
            return faq(rng, orders)
        _, number, email = order
        moves: list[Move] = [Say(_pick(rng, ORDER_QUESTIONS, language)), Say(number), Say(email)]
        moves += [Say(_pick(rng, THANKS, language)), *_csat(rng)]
        return moves

    return {"faq": faq, "knowledge": knowledge, "off_topic": off_topic, "person": person,
            "order_status": order_status}


def _english_extra() -> dict[str, Flow]:
    def cancel(rng: random.Random, orders: list[Order]) -> list[Move]:
        order = _order(rng, orders, ("pending", "paid", "packed", "shipped"))
        if order is None:
            return []
        _, number, email = order
        return [Say("I want to cancel my order"), Say(number), Say(email),
                YES if rng.random() < 0.7 else NO, Say("thanks"), *_csat(rng)]

    def return_item(rng: random.Random, orders: list[Order]) -> list[Move]:
        order = _order(rng, orders, ("delivered",))
        if order is None:
            return []
        _, number, email = order
        return [Say("I'd like to return something I bought"), Say(number), Say(email),
                Say("it doesn't fit"), Say("thank you"), *_csat(rng)]

    def wrong_email(rng: random.Random, orders: list[Order]) -> list[Move]:
        order = _order(rng, orders, ("in_transit", "delivered"))
        if order is None:
            return []
        return [Say("where is my order?"), Say(order[1]), Say("someone.else@example.com"),
                Say("bye")]

    def complaint(rng: random.Random, orders: list[Order]) -> list[Move]:
        return [Say("this is unacceptable, my delivery is two weeks late")]

    def bot_or_not(rng: random.Random, orders: list[Order]) -> list[Move]:
        return [Say("are you a robot?"), Say("ok, how long does shipping take to Finland?"),
                YES, Say("bye")]

    def gibberish(rng: random.Random, orders: list[Order]) -> list[Move]:
        return [Say("asdf qwerty blorp"), Say("zzz hmm blorp again"), PERSON]

    return {"cancel": cancel, "return": return_item, "wrong_email": wrong_email,
            "complaint": complaint, "bot_or_not": bot_or_not, "gibberish": gibberish}


LANGUAGES = ("en", "sv", "nb", "zh")
# share of conversations per language and the flows' weights
LANGUAGE_WEIGHTS = {"en": 0.5, "sv": 0.2, "nb": 0.15, "zh": 0.15}
FLOW_WEIGHTS = {"faq": 4, "order_status": 3, "knowledge": 2, "off_topic": 1, "person": 1,
                "cancel": 1,
                "return": 1, "wrong_email": 1, "complaint": 1, "bot_or_not": 1, "gibberish": 1}


def plan(count: int, orders: list[Order], seed: int = 7) -> list[Conversation]:
    """`count` conversations over the four languages (at least one flow of each per language)."""
    rng = random.Random(seed)
    flows = {lang: _language_flows(lang) for lang in LANGUAGES}
    flows["en"].update(_english_extra())
    out: list[Conversation] = []
    for language in LANGUAGES:  # every language, every one of its flows, once
        for name, flow in flows[language].items():
            moves = flow(rng, orders)
            if moves:
                out.append(Conversation(language, name, moves))
    while len(out) < count:
        language = rng.choices(LANGUAGES, weights=[LANGUAGE_WEIGHTS[x] for x in LANGUAGES])[0]
        names = list(flows[language])
        name = rng.choices(names, weights=[FLOW_WEIGHTS.get(n, 1) for n in names])[0]
        moves = flows[language][name](rng, orders)
        if moves:
            out.append(Conversation(language, name, moves))
    rng.shuffle(out)
    return out[:max(count, 0)]


def _button(replies: list[dict[str, Any]], press: Press) -> str | None:
    for reply in reversed(replies):
        for button in reply.get("buttons") or []:
            payload = str(button.get("payload") or "")
            if payload.startswith(press.payloads):
                if press.rating is not None:
                    wanted = f'"csat_rating": "{press.rating}"'
                    if wanted not in payload:
                        continue
                return payload
    return None


def run_conversation(client: RestClient, conversation: Conversation, sender: str,
                     pause: float = 0.3) -> int:
    """Hold one conversation; the number of messages sent."""
    replies: list[dict[str, Any]] = []
    sent = 0
    for move in conversation.moves:
        if isinstance(move, Say):
            message = move.text
        else:
            found = _button(replies, move)
            if found is None:
                continue  # the bot did not offer that button this time
            message = found
        replies = client.say(sender, message)
        sent += 1
        time.sleep(pause)
    return sent


def _orders() -> list[Order]:
    try:
        return get_store().sample_orders(per_status=3)
    except StoreError:
        logger.warning("demo: the order store is unavailable; no order conversations")
        return []


def rasa_url(env: Mapping[str, str] | None = None) -> str:
    explicit = env_str(env, "RASA_URL")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{env_int(env, 'RASA_PORT', 5005, low=1, high=65535)}"


def run(count: int, seed: int, url: str, wait: float, pause: float) -> int:
    client = RestClient(url, rasa_api_token())
    deadline = time.monotonic() + wait
    while not client.ready():
        if time.monotonic() > deadline:
            print(f"demo: the bot's REST channel at {url} does not answer; start it with "
                  "`make run` first")
            return 1
        time.sleep(2)
    conversations = plan(count, _orders(), seed)
    run_id = uuid.uuid4().hex[:6]
    messages = refused = errors = 0
    started = time.monotonic()
    for index, conversation in enumerate(conversations):
        sender = f"demo-{run_id}-{conversation.language}-{index:03d}"
        began = time.monotonic()
        try:
            said = run_conversation(client, conversation, sender, pause)
            messages += said
            logger.info("demo: conversation %s/%s (%s, %s): %s messages in %.1f s", index + 1,
                        len(conversations), conversation.language, conversation.flow, said,
                        time.monotonic() - began)
        except urllib.error.HTTPError as exc:
            refused += exc.code == 429
            errors += exc.code != 429
            logger.warning("demo: conversation %s (%s) stopped: HTTP %s", index,
                           conversation.flow, exc.code)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            errors += 1
            logger.warning("demo: conversation %s (%s) stopped: %s", index,
                           conversation.flow, type(exc).__name__)
    by_language = {lang: sum(c.language == lang for c in conversations) for lang in LANGUAGES}
    print(f"demo: {len(conversations)} conversations ({by_language}), {messages} messages, "
          f"{refused} refused, {errors} errors, {time.monotonic() - started:.0f} s")
    errors += refused
    return 0 if errors < len(conversations) else 1


def demo_wanted(env: Mapping[str, str]) -> int:
    """For `make run`: how many demo conversations an empty analytics database gets (0: none,
    because it holds conversations already, or DEMO_CONVERSATIONS is 0, or it is unusable).

    make run asks this before any service starts: once the bot answers, a customer's first
    message (the README's `curl`) can reach the database within a second and would make it
    look used."""
    count = env_int(env, "DEMO_CONVERSATIONS", DEFAULT_CONVERSATIONS, low=0, high=10_000)
    if count == 0:
        return 0
    try:
        settings = AnalyticsSettings.from_env(env)
        upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        try:
            return 0 if conversation_count(engine) > 0 else count
        finally:
            engine.dispose()
    except (AnalyticsError, AnalyticsUnavailable) as exc:
        print(f"run: no demo data: {exc}", flush=True)
        return 0


def start_demo(env: Mapping[str, str], log_dir: Path, count: int) -> subprocess.Popen[bytes]:
    """Make `count` demo conversations in the background through the REST channel."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "demo_data.log"
    print(f"run: the analytics database is empty: making {count} demo conversations in the "
          f"background through the REST channel (log: {log})", flush=True)
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, "-m", "analytics.demo", "--conversations", str(count)],
            cwd=REPO_ROOT, env=dict(env),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Demo conversations through the REST channel.")
    parser.add_argument("--conversations", type=int, default=DEFAULT_CONVERSATIONS)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rasa-url", default=None, help="default RASA_URL or :RASA_PORT")
    parser.add_argument("--wait", type=float, default=300.0,
                        help="seconds to wait for the REST channel")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between messages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if hasattr(sys.stdout, "reconfigure"):  # make run sends stdout to a log file: line by line
        sys.stdout.reconfigure(line_buffering=True)
    return run(args.conversations, args.seed, args.rasa_url or rasa_url(), args.wait,
               args.pause)


if __name__ == "__main__":
    raise SystemExit(main())
