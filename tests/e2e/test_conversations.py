"""Whole conversations in English, Swedish, Norwegian and Chinese through the REST channel,
against the real Rasa server, action server and store (tests/e2e/conftest.py).

Each language's customer has their own seeded orders. The bot's replies are checked against the
message catalogue in that language (message_catalogue/: the response's template, parameters
filled), so every reply must be the right response AND in the customer's language; a language
detector then reads every bot text of the conversation (names, links, order numbers and e-mail
addresses left out) and must find that language.

Covered, per language: order status; cancelling the verified order with confirmation, without
being asked for it again; an FAQ question inside the form, after which the form resumes with a
reminder; a second order number asking for its own e-mail; a return with its reason; a request
for a person; CSAT with a comment; and "yes", "no", "5" and praise out of context after each
flow: exactly one reply each, and never more than one case per conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from message_catalogue.messages import get_catalogue
from nordvik.languages import detect_language_or_none
from nordvik.text import redact_emails
from store.repository import OrderStore
from tests.fakes.slack_api import FakeSlackApi
from tests.support.rasa_stack import RasaStack
from tests.support.store import add_order, count_cases_of, interactions

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@dataclass(frozen=True)
class Script:
    """What a customer types, in one language."""

    greet: str
    where_is_my_order: str
    faq_in_form: str  # an FAQ question about shipping times, asked while the form waits
    cancel_it: str
    yes: str
    no: str
    second_order: str  # "and where is order {number}?"
    thanks: str
    comment: str
    praise: str
    person: str
    return_request: str
    return_reason: str


SCRIPTS: dict[str, Script] = {
    "en": Script("hi there", "where is my order?", "how much does shipping to Norway cost?",
                 "can I cancel it?", "yes", "no", "and where is order {number}?", "thanks!",
                 "quick and friendly", "thanks, great service", "I want to talk to a person",
                 "I want to return my order", "it was the wrong size"),
    "sv": Script("hej", "var är min beställning?", "vad kostar frakten till Norge?",
                 "kan jag avbeställa den?", "ja", "nej", "och var är order {number}?", "tack!",
                 "snabbt och trevligt", "tack, jättebra service", "jag vill prata med en människa",
                 "jag vill returnera min beställning", "den var för liten"),
    "nb": Script("hei", "hvor er bestillingen min?", "hva koster frakt til Sverige?",
                 "kan jeg kansellere den?", "ja", "nei", "og hvor er ordre {number}?", "takk!",
                 "rask og hyggelig", "takk, veldig god service", "jeg vil snakke med et menneske",
                 "jeg vil returnere bestillingen min", "den var for liten"),
    "zh": Script("你好", "我的訂單在哪裡？", "寄到挪威的運費是多少？", "可以取消嗎？", "好",
                 "不用", "那訂單{number}呢？", "謝謝！", "很快又很親切", "謝謝，服務很好",
                 "我想找真人客服", "我要退貨", "尺寸太小了"),
}
FIRST = {"en": 30, "sv": 31, "nb": 32, "zh": 33}  # order numbers A<FIRST>001 ...


def orders_of(language: str) -> dict[str, str]:
    base = FIRST[language]
    return {"paid": f"A{base}001", "in_transit": f"A{base}002", "delivered": f"A{base}003"}


def email_of(language: str) -> str:
    return f"kund.{language}@example.com"


@pytest.fixture(scope="module", autouse=True)
def language_orders(bot_store: OrderStore) -> None:
    for language in SCRIPTS:
        numbers = orders_of(language)
        for status, number in numbers.items():
            add_order(bot_store, number=number, email=email_of(language), status=status,
                      language="en", delivered_days_ago=5 if status == "delivered" else None)


def template_pattern(name: str, language: str, **known: Any) -> re.Pattern[str]:
    """The response's text in `language` as a pattern: known parameters literal, others any."""
    template = get_catalogue().render(name, language).text
    parts = re.split(r"({[^{}\n]+})", template)
    regex = "".join(
        re.escape(str(known[part[1:-1]])) if part[1:-1] in known
        else ".+?" if part.startswith("{") and part.endswith("}") else re.escape(part)
        for part in parts
    )
    return re.compile(regex, re.DOTALL)


class Conversation:
    def __init__(self, stack: RasaStack, sender: str, language: str) -> None:
        self.stack, self.sender, self.language = stack, sender, language
        self.bot_texts: list[str] = []

    def say(self, text: str) -> list[dict[str, Any]]:
        replies = self.stack.say(self.sender, text)
        self.bot_texts += [str(reply.get("text") or "") for reply in replies]
        return replies

    def expect(self, text: str, *names: str, **known: Any) -> list[dict[str, Any]]:
        """Say `text`; the replies must be exactly the responses `names`, in this language."""
        replies = self.say(text)
        said = [str(reply.get("text") or "") for reply in replies]
        assert len(said) == len(names), f"{text!r} -> {said}"
        for reply, name in zip(said, names, strict=True):
            options = name.split("|")
            assert any(template_pattern(option, self.language, **known).fullmatch(reply)
                       for option in options), f"{text!r}: {reply!r} is not {name} "\
                                               f"in {self.language}"
        return replies


def visible_words(text: str, hidden: tuple[str, ...]) -> str:
    """A bot text without links, e-mail addresses, order numbers, names and other proper
    nouns that are the same in every language."""
    text = redact_emails(text, placeholder=" ")
    text = re.sub(r"https?://\S+|[A-Z]{1,3}\d[\w]*|#\d+|\d[\d:.,\- ]*", " ", text)
    for word in hidden:
        text = text.replace(word, " ")
    return text


NAMES = ("Nordvik Home", "Nordvik", "PostNord", "Budbee", "Bring", "DHL Express", "DHL", "UPS",
         "Birch table lamp", "Stoneware mug", "Klarna", "Swish", "PayPal", "Visa", "Mastercard",
         "American Express", "CET", "SEK", "support@nordvik.example", "GDPR", "PDF", "EU")


def assert_all_in_language(conversation: Conversation) -> None:
    wrong = []
    for text in conversation.bot_texts:
        words = visible_words(text, NAMES)
        if len(words.split()) < 4 and conversation.language != "zh":
            continue  # "Ja", "5": too short for anyone to tell
        detected = detect_language_or_none(words, min_confidence=0.0)
        if detected != conversation.language:
            wrong.append((detected, text))
    assert not wrong, f"bot texts not in {conversation.language}: {wrong}"


OUT_OF_CONTEXT = ("yes", "no", "5", "praise")


def out_of_context(conversation: Conversation, script: Script) -> None:
    """"yes", "no", "5" and praise when the bot asked nothing: one reply each."""
    for kind in OUT_OF_CONTEXT:
        text = {"yes": script.yes, "no": script.no, "5": "5", "praise": script.praise}[kind]
        replies = conversation.say(text)
        assert len(replies) == 1, f"{kind} ({text!r}) -> {[r.get('text') for r in replies]}"


@pytest.mark.parametrize("language", list(SCRIPTS))
def test_order_status_cancel_second_order_csat_and_person(
    bot_stack: RasaStack, bot_store: OrderStore, slack_api: FakeSlackApi, language: str
) -> None:
    script, numbers, email = SCRIPTS[language], orders_of(language), email_of(language)
    talk = Conversation(bot_stack, f"e2e-{language}-orders", language)
    talk.expect(script.greet, "utter_greet")
    talk.expect(script.where_is_my_order, "utter_ask_order_number")
    # An FAQ question while the form waits: answered, then the form reminds what it needs.
    talk.expect(script.faq_in_form, "utter_faq/shipping_times", "utter_remind_order_number")
    talk.expect(numbers["paid"], "utter_ask_email", order_number=numbers["paid"])
    talk.expect(email, "utter_order_paid", order_number=numbers["paid"])
    # The verified order stays in hand: no order number, no e-mail asked again.
    replies = talk.expect(script.cancel_it, "utter_confirm_cancel", order_number=numbers["paid"])
    assert [b["payload"] for b in replies[0]["buttons"]] == ["/affirm", "/deny"]
    talk.expect(script.yes, "utter_order_cancelled", order_number=numbers["paid"])
    cancelled = bot_store.get_order(numbers["paid"])
    assert cancelled is not None and cancelled.status == "cancelled"
    # Another order number asks for that order's own e-mail.
    talk.expect(script.second_order.format(number=numbers["in_transit"]), "utter_ask_email",
                order_number=numbers["in_transit"])
    talk.expect(email, "utter_order_in_transit", order_number=numbers["in_transit"],
                carrier="PostNord")
    slots = bot_stack.tracker(talk.sender)["slots"]
    assert slots["language"] == language
    assert slots["email"] is None and slots["verified_order"] == numbers["in_transit"]
    # CSAT: a resolved question and a thank-you bring the rating question.
    talk.expect(script.thanks, "utter_ask_csat_rating")
    talk.expect("5", "utter_ask_csat_comment")
    talk.expect(script.comment, "utter_csat_thanks")
    out_of_context(talk, script)
    before = len(slack_api.posts(channel="CHANDOFF"))
    talk.expect(script.person, "utter_handoff_started|utter_handoff_started_offline")
    assert len(slack_api.posts(channel="CHANDOFF")) == before + 1
    assert count_cases_of(bot_store, talk.sender) == 1
    assert_all_in_language(talk)
    # The turns are in the customer's CRM history, without the e-mail address.
    recorded = interactions(bot_store, talk.sender)
    assert {number for _, _, number in recorded} >= {numbers["paid"], numbers["in_transit"]}
    assert all(email not in text for _, text, _ in recorded)


@pytest.mark.parametrize("language", list(SCRIPTS))
def test_return_with_its_reason_then_out_of_context(
    bot_stack: RasaStack, bot_store: OrderStore, language: str
) -> None:
    script, numbers, email = SCRIPTS[language], orders_of(language), email_of(language)
    talk = Conversation(bot_stack, f"e2e-{language}-return", language)
    talk.expect(script.return_request, "utter_ask_order_number")
    talk.expect(numbers["delivered"], "utter_ask_email", order_number=numbers["delivered"])
    talk.expect(email, "utter_ask_return_reason", order_number=numbers["delivered"])
    talk.expect(script.return_reason, "utter_return_started", order_number=numbers["delivered"])
    order = bot_store.get_order(numbers["delivered"])
    assert order is not None and order.returns and order.returns[-1].reason == script.return_reason
    out_of_context(talk, script)
    assert count_cases_of(bot_store, talk.sender) == 1  # the return's case, nothing more
    assert_all_in_language(talk)
