"""Simulated customers for `make bench-chat`: the conversation mix, in every language the bot
speaks, and the closed-loop load with think time.

Each customer holds conversations one after another: a greeting, a FAQ question, "where is my
order?", the order number, its e-mail (a seeded order of the store under test), another FAQ
question and a goodbye, in English, Swedish, Norwegian or Chinese (customer i speaks language
i mod 4). Between two messages a customer thinks for an exponentially distributed time (mean
8 s by default) after the bot's reply arrived; each customer starts after a uniform delay over
one mean think time, so the load ramps in instead of arriving at once.

With a mean think time of 0 the loop is closed with no think time at all: every customer starts
at once and sends its next message as soon as the reply to the last one has arrived.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

LANGUAGES = ("en", "sv", "nb", "zh")


@dataclass(frozen=True)
class Script:
    greeting: str
    faqs: tuple[str, ...]
    order_question: str
    goodbye: str


SCRIPTS: dict[str, Script] = {
    "en": Script("hi", (
        "how long does shipping take?", "do you ship to taiwan?", "what is your return policy",
        "when will I get my refund", "can I pay with klarna?", "is there a warranty on headphones",
        "I forgot my password", "what are your opening hours", "my vase arrived broken",
        "how long is a gift card valid"), "where is my order?", "bye"),
    "sv": Script("hej", (
        "hur lång tid tar leveransen?", "skickar ni till Taiwan?", "vad gäller för returer?",
        "när får jag min återbetalning?", "kan jag betala med Klarna?",
        "finns det garanti på hörlurar?", "jag har glömt mitt lösenord",
        "vilka öppettider har ni?", "min vas kom trasig", "hur länge gäller ett presentkort?"),
        "var är min beställning?", "hej då"),
    "nb": Script("hei", (
        "hvor lang tid tar frakten?", "sender dere til Taiwan?", "hva er returreglene?",
        "når får jeg pengene tilbake?", "kan jeg betale med Klarna?",
        "er det garanti på hodetelefoner?", "jeg har glemt passordet mitt",
        "hva er åpningstidene deres?", "vasen kom knust", "hvor lenge gjelder et gavekort?"),
        "hvor er bestillingen min?", "ha det"),
    "zh": Script("你好", (
        "運送需要多久？", "你們有寄到台灣嗎？", "退貨政策是什麼？", "我什麼時候會收到退款？",
        "可以用Klarna付款嗎？", "耳機有保固嗎？", "我忘記密碼了", "你們的營業時間是？",
        "我的花瓶送到時破了", "禮物卡的有效期限多久？"), "我的訂單在哪裡？", "再見"),
}


def conversation(rng: random.Random, language: str,
                 order: tuple[str, str, str]) -> list[tuple[str, str | None]]:
    """(message, text the reply must contain, or None) for one conversation."""
    script = SCRIPTS[language]
    number, email, _status = order
    return [
        (script.greeting, None),
        (rng.choice(script.faqs), None),
        (script.order_question, None),
        (number, None),
        (email, number),  # the order's details name its number, in every language
        (rng.choice(script.faqs), None),
        (script.goodbye, None),
    ]


@dataclass
class LoadOutcome:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    wrong: int = 0
    sent: dict[str, int] = field(default_factory=dict)  # sender -> messages sent
    error_kinds: dict[str, int] = field(default_factory=dict)  # "HTTP 500", "TimeoutError", ...
    seconds: float = 0.0


async def _customer(session: aiohttp.ClientSession, rest_url: str, index: int, run_id: str,
                    orders: Sequence[tuple[str, str, str]], think_mean: float, end: float,
                    outcome: LoadOutcome, check_replies: bool, timeout: float) -> None:
    rng = random.Random(f"{run_id}-{index}")
    language = LANGUAGES[index % len(LANGUAGES)]
    if think_mean > 0:
        await asyncio.sleep(rng.uniform(0, think_mean))
    number = 0
    while time.monotonic() < end:
        sender = f"bench-{run_id}-{index}-{number}"
        order = orders[(index + number) % len(orders)]
        number += 1
        for message, expected in conversation(rng, language, order):
            if time.monotonic() >= end:
                return
            outcome.sent[sender] = outcome.sent.get(sender, 0) + 1
            started = time.perf_counter()
            body, kind = None, ""
            try:
                async with session.post(rest_url, json={"sender": sender, "message": message},
                                        timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                    ok = response.status == 200
                    kind = f"HTTP {response.status}"
                    body = await response.json(content_type=None)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                ok, kind = False, kind or type(error).__name__
            outcome.latencies_ms.append((time.perf_counter() - started) * 1000)
            if not ok:
                outcome.errors += 1
                outcome.error_kinds[kind] = outcome.error_kinds.get(kind, 0) + 1
            elif check_replies and expected is not None:
                text = " ".join(str(r.get("text", "")) for r in body or [])
                if expected not in text:
                    outcome.wrong += 1
            if think_mean <= 0:
                continue  # closed loop without think time: the next message at once
            think = rng.expovariate(1.0 / think_mean)
            # the level ends at `end`: a customer does not think past it (that would stretch
            # the measured duration and understate the served rate)
            await asyncio.sleep(min(think, max(0.0, end - time.monotonic())))


async def run_load(rest_url: str, customers: int, seconds: float, think_mean: float,
                   orders: Sequence[tuple[str, str, str]], run_id: str, *,
                   check_replies: bool = True, timeout: float = 60.0) -> LoadOutcome:
    """`customers` customers for `seconds` (turns in flight at the end are awaited)."""
    outcome = LoadOutcome()
    connector = aiohttp.TCPConnector(limit=customers + 10)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        end = started + seconds
        await asyncio.gather(*(
            _customer(session, rest_url, i, run_id, orders, think_mean, end, outcome,
                      check_replies, timeout)
            for i in range(customers)
        ))
        outcome.seconds = time.monotonic() - started
    return outcome


@dataclass(frozen=True)
class LevelResult:
    """What one level of customers measured against one system."""

    system: str
    customers: int
    seconds: float
    offered_tps: float
    turns: int
    served_tps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    wrong: int
    lost: int
    duplicated: int
    repeat: int = 1  # the round, when the systems alternate


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
