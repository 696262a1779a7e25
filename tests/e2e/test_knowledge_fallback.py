"""The knowledge fallback through the REST channel: the real Rasa server, action server and
`kb serve` on the shipped articles with the project's embedding model (tests/e2e/conftest.py).

Covers: an answer found ("yes" ends politely), nothing found (the bot asks to put it another
way), "that didn't help" -> rephrase -> a person offered -> handoff, Swedish, Norwegian and
Chinese questions answered from articles in that language, off-topic questions in those
languages finding nothing, and `kb serve` not running. Replies are compared with the message
catalogue in the conversation's language.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from message_catalogue.messages import get_catalogue
from store.repository import OrderStore
from tests.support.knowledge import KbServer, article_language
from tests.support.rasa_stack import RasaStack
from tests.support.store import count_cases

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ARTICLE_LINK = re.compile(r"https://help\.nordvik\.example/articles/([\w-]+)")


def texts(replies: list[dict[str, Any]]) -> str:
    return "\n".join(str(r.get("text", "")) for r in replies)


def payloads(replies: list[dict[str, Any]]) -> list[str]:
    return [str(b.get("payload")) for r in replies for b in r.get("buttons") or []]


def linked_article(replies: list[dict[str, Any]]) -> str:
    found = ARTICLE_LINK.findall(texts(replies))
    assert len(found) == 1, f"expected one article link in {texts(replies)!r}"
    return str(found[0])


def said(name: str, language: str, **params: Any) -> str:
    return get_catalogue().text(name, language, **params)


def test_answer_found_then_yes_ends_politely(bot_stack: RasaStack) -> None:
    sender = "kb-answer-en"
    replies = bot_stack.say(sender, "is your packaging recyclable?")
    assert linked_article(replies) == "packaging-environment"
    assert texts(replies).startswith("This article might help: Packaging")
    assert replies[-1]["text"] == said("utter_kb_helped", "en")
    assert payloads(replies) == ["/affirm", "/deny", "/request_human"]
    assert bot_stack.tracker(sender)["slots"]["kb_article_id"] == "packaging-environment"

    replies = bot_stack.say(sender, "yes")
    assert texts(replies) == said("utter_kb_glad", "en")
    assert bot_stack.tracker(sender)["slots"]["language"] == "en"


def test_nothing_found_asks_to_put_it_another_way_then_offers_a_person(
    bot_stack: RasaStack, bot_store: OrderStore
) -> None:
    sender = "kb-nothing-found"
    replies = bot_stack.say(sender, "blorp the flange")
    assert ARTICLE_LINK.search(texts(replies)) is None  # below KB_MIN_SCORE: no passage shown
    first = texts(replies)
    assert first in (said("utter_ask_rephrase", "en"), said("utter_clarify_two", "en")) or (
        first.startswith(("Is your question", "Do you want", "Would you like", "Are you asking",
                          "Did an item")))
    assert "/request_human" in payloads(replies)  # never a bare "I didn't understand"
    cases = count_cases(bot_store)
    replies = bot_stack.say(sender, "/request_human")  # the "Talk to a person" button
    assert "case #" in texts(replies)
    assert count_cases(bot_store) == cases + 1


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("sv", "varför är himlen blå på natten?"),
        ("nb", "hvorfor er himmelen blå om natten?"),
        ("zh", "為什麼夜晚的天空是藍色的？"),
    ],
)
def test_off_topic_question_in_another_language_finds_nothing(
    bot_stack: RasaStack, language: str, question: str
) -> None:
    sender = f"kb-nothing-{language}"
    replies = bot_stack.say(sender, question)
    assert ARTICLE_LINK.search(texts(replies)) is None
    assert texts(replies) == said("utter_ask_rephrase", language)
    assert payloads(replies) == ["/request_human"]  # a person offered, with a button
    slots = bot_stack.tracker(sender)["slots"]
    assert slots["language"] == language and slots["pending_question"] == "kb_rephrase"


@pytest.mark.parametrize(
    ("language", "asked"),
    [
        ("sv", "jag vill prata med en människa"),
        ("nb", "jeg vil snakke med et menneske"),
        ("zh", "我想找真人客服"),
    ],
)
def test_typed_request_for_a_person_in_another_language_hands_off_in_that_language(
    bot_stack: RasaStack, bot_store: OrderStore, language: str, asked: str
) -> None:
    sender = f"kb-person-{language}"
    cases = count_cases(bot_store)
    replies = bot_stack.say(sender, asked)
    case_id = count_cases(bot_store)
    assert case_id == cases + 1
    assert ARTICLE_LINK.search(texts(replies)) is None  # no article search
    assert texts(replies) in {
        said(name, language, case_id=case_id, minutes=5)
        for name in ("utter_handoff_started", "utter_handoff_started_offline")}
    assert bot_stack.tracker(sender)["slots"]["language"] == language


def test_that_did_not_help_leads_to_rephrase_then_a_person_offered(
    bot_stack: RasaStack, bot_store: OrderStore
) -> None:
    sender = "kb-did-not-help"
    replies = bot_stack.say(sender, "can I use two discount codes on one order?")
    assert linked_article(replies) == "discount-codes-price-match"

    replies = bot_stack.say(sender, "/deny")  # the "No" button
    assert texts(replies) == said("utter_kb_rephrase", "en")
    assert bot_stack.tracker(sender)["slots"]["pending_question"] == "kb_rephrase"

    replies = bot_stack.say(sender, "stacking several promo vouchers at checkout")
    if ARTICLE_LINK.search(texts(replies)) is None:  # nothing found again: a person offered
        assert texts(replies) == said("utter_offer_human", "en")
        assert payloads(replies) == ["/affirm", "/deny"]
        cases = count_cases(bot_store)
        replies = bot_stack.say(sender, "yes please")
        assert "case #" in texts(replies)
        assert count_cases(bot_store) == cases + 1
    else:  # the rephrased question found an article: asked again whether it helped
        assert replies[-1]["text"] == said("utter_kb_helped", "en")


@pytest.mark.parametrize(
    ("language", "question"),
    [
        ("sv", "hur lång tid tar det att få tillbaka pengarna efter en retur?"),
        ("nb", "må jeg betale toll når jeg bestiller til Norge?"),
        ("zh", "寄到台灣要多少運費？"),
    ],
)
def test_non_english_question_is_answered_in_its_language(
    bot_stack: RasaStack, language: str, question: str
) -> None:
    sender = f"kb-answer-{language}"
    replies = bot_stack.say(sender, question)
    if ARTICLE_LINK.search(texts(replies)) is None:
        # The NLU answered it from its FAQ topics instead: in the language, too.
        assert bot_stack.tracker(sender)["slots"]["language"] == language
        return
    assert article_language(linked_article(replies)) == language
    prefix = said("utter_kb_answer", language).split("{", 1)[0]
    assert texts(replies).startswith(prefix)
    assert replies[-1]["text"] == said("utter_kb_helped", language)
    assert bot_stack.tracker(sender)["slots"]["language"] == language

    replies = bot_stack.say(sender, "/affirm")  # the "yes" button, labelled in the language
    assert texts(replies) == said("utter_kb_glad", language)


def test_knowledge_service_down_is_polite_logged_and_the_conversation_continues(
    bot_stack: RasaStack, kb_server: KbServer
) -> None:
    sender = "kb-service-down"
    with kb_server.stopped():
        status, body = bot_stack.post(
            bot_stack.rest_url, {"sender": sender, "message": "is your packaging recyclable?"}
        )
        assert status == 200, body
        replies = [str(reply.get("text")) for reply in body]
        assert replies[0] == said("utter_kb_unavailable", "en")
        assert replies[1] == said("utter_offer_human", "en")
        assert "Errno" not in texts(body) and "refused" not in texts(body).lower()

        replies = bot_stack.say(sender, "where is my order?")
        assert texts(replies) == said("utter_ask_order_number", "en")
    action_log = bot_stack.logs[0].read_text(errors="replace")
    assert "the knowledge service is unavailable" in action_log
