"""The knowledge fallback through the REST channel: the real Rasa server, action server and
`kb serve` on the shipped articles with the packaged embedding model (tests/e2e/conftest.py).

Covers: an answer found ("yes" ends politely), nothing found (straight to the two-stage
fallback), "that didn't help" -> rephrase -> a person offered -> handoff, Swedish, Norwegian
and Chinese questions answered from articles in that language with a note, in that language,
that a colleague can help in it, off-topic questions in those languages finding nothing, and
`kb serve` not running.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

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


def test_answer_found_then_yes_ends_politely(bot_stack: RasaStack) -> None:
    sender = "kb-answer-en"
    replies = bot_stack.say(sender, "is your packaging recyclable?")
    assert linked_article(replies) == "packaging-environment"
    assert texts(replies).startswith("This article might help: Packaging")
    assert replies[-1]["text"] == "Did that answer your question?"
    assert payloads(replies) == ["/affirm", "/deny", "/request_human"]
    assert bot_stack.tracker(sender)["slots"]["kb_article_id"] == "packaging-environment"

    replies = bot_stack.say(sender, "yes")
    assert texts(replies) == "Great, glad that helped! Anything else I can do for you?"
    slots = bot_stack.tracker(sender)["slots"]
    assert slots["kb_article_id"] is None and slots["customer_language"] == "en"


def test_nothing_found_goes_straight_to_the_readable_two_stage_fallback(
    bot_stack: RasaStack, bot_store: OrderStore
) -> None:
    sender = "kb-nothing-found"
    replies = bot_stack.say(sender, "blorp the flange")
    said = texts(replies)
    assert ARTICLE_LINK.search(said) is None  # below KB_MIN_SCORE: no passage shown
    assert "Did that answer" not in said
    assert "Did you mean '" not in said  # not Rasa's "Did you mean 'faq'?"
    assert "/request_human" in payloads(replies)
    tracker = bot_stack.tracker(sender)
    assert tracker["active_loop"]["name"] == "action_two_stage_fallback"
    assert tracker["slots"]["kb_article_id"] is None

    cases = count_cases(bot_store)
    replies = bot_stack.say(sender, "/request_human")  # the "Talk to a person" button
    assert "case #" in texts(replies)
    assert count_cases(bot_store) == cases + 1
    assert bot_stack.tracker(sender)["active_loop"] == {}


@pytest.mark.parametrize(
    ("language", "question", "not_found_start"),
    [
        ("sv", "varför är himlen blå på natten?", "Tyvärr hittade jag inget svar"),
        ("nb", "hvorfor er himmelen blå om natten?", "Beklager, jeg fant ikke noe svar"),
        ("zh", "為什麼夜晚的天空是藍色的？", "很抱歉，我在說明文章中找不到"),
    ],
)
def test_off_topic_question_in_another_language_finds_nothing(
    bot_stack: RasaStack, language: str, question: str, not_found_start: str
) -> None:
    """The English-only model finds any two texts in these languages alike; the index's
    per-language calibration keeps an off-topic question below KB_MIN_SCORE all the same."""
    sender = f"kb-nothing-{language}"
    replies = bot_stack.say(sender, question)
    said = texts(replies)
    assert ARTICLE_LINK.search(said) is None
    assert said.startswith(not_found_start)
    assert "/request_human" in payloads(replies)
    tracker = bot_stack.tracker(sender)
    assert tracker["slots"]["customer_language"] == language
    assert tracker["active_loop"]["name"] == "action_two_stage_fallback"


@pytest.mark.parametrize(
    ("language", "asked", "case_word"),
    [
        ("sv", "jag vill prata med en människa", "ärende #"),
        ("nb", "jeg vil snakke med et menneske", "sak #"),
        ("zh", "我想找真人客服", "案件 #"),
    ],
)
def test_typed_request_for_a_person_in_another_language_hands_off_in_that_language(
    bot_stack: RasaStack, bot_store: OrderStore, language: str, asked: str, case_word: str
) -> None:
    sender = f"kb-person-{language}"
    cases = count_cases(bot_store)
    replies = bot_stack.say(sender, asked)
    said = texts(replies)
    assert case_word in said and "case #" not in said  # the handoff message, in the language
    assert ARTICLE_LINK.search(said) is None  # no article search
    assert count_cases(bot_store) == cases + 1
    assert bot_stack.tracker(sender)["slots"]["customer_language"] == language


def test_that_did_not_help_leads_to_rephrase_then_a_person_offered(
    bot_stack: RasaStack, bot_store: OrderStore
) -> None:
    sender = "kb-did-not-help"
    replies = bot_stack.say(sender, "can I use two discount codes on one order?")
    assert linked_article(replies) == "discount-codes-price-match"

    replies = bot_stack.say(sender, "/deny")  # the "No" button
    assert texts(replies) == (
        "Sorry that didn't help.\nCould you tell me a bit more, in other words?"
    )
    assert bot_stack.tracker(sender)["slots"]["kb_declined"] is True

    replies = bot_stack.say(sender, "combining promo codes")
    assert texts(replies) == (
        "Would you like me to put you in touch with one of our customer service colleagues?"
    )
    assert payloads(replies) == ["/affirm", "/deny"]
    assert bot_stack.tracker(sender)["slots"]["kb_offered_human"] is True

    cases = count_cases(bot_store)
    replies = bot_stack.say(sender, "yes please")
    assert "case #" in texts(replies)
    assert count_cases(bot_store) == cases + 1


@pytest.mark.parametrize(
    ("language", "question", "answer_start", "human_note", "helped"),
    [
        ("sv", "hur lång tid tar det att få tillbaka pengarna efter en retur?",
         "Den här artikeln kan hjälpa dig:", "på svenska", "Besvarade det din fråga?"),
        ("nb", "må jeg betale toll når jeg bestiller til Norge?",
         "Denne artikkelen kan hjelpe deg:", "på norsk", "Svarte det på spørsmålet ditt?"),
        ("zh", "寄到台灣要多少運費？", "這篇文章也許能幫到您：", "用中文", "這有回答您的問題嗎？"),
    ],
)
def test_non_english_question_is_answered_in_its_language(
    bot_stack: RasaStack, language: str, question: str, answer_start: str, human_note: str,
    helped: str,
) -> None:
    sender = f"kb-answer-{language}"
    replies = bot_stack.say(sender, question)
    said = texts(replies)  # the REST channel sends each paragraph as its own message
    assert article_language(linked_article(replies)) == language
    assert said.startswith(answer_start)
    # after the passage and its link: a colleague can help in this language
    assert said.index(human_note) > said.index("https://help.nordvik.example/articles/")
    assert replies[-1]["text"] == helped
    assert bot_stack.tracker(sender)["slots"]["customer_language"] == language

    replies = bot_stack.say(sender, "/affirm")  # the "yes" button, labelled in the language
    assert len(replies) == 1 and replies[0]["text"] != "" and "glad" not in replies[0]["text"]


def test_knowledge_service_down_is_polite_logged_and_the_conversation_continues(
    bot_stack: RasaStack, kb_server: KbServer
) -> None:
    sender = "kb-service-down"
    with kb_server.stopped():
        status, body = bot_stack.post(
            bot_stack.rest_url, {"sender": sender, "message": "is your packaging recyclable?"}
        )
        assert status == 200, body
        said = texts(body)
        assert said.startswith("Sorry, I can't search our help articles right now.")
        assert "Errno" not in said and "refused" not in said.lower()
        assert "/request_human" in payloads(body)

        replies = bot_stack.say(sender, "where is my order?")
        assert "order number" in texts(replies).lower()
    action_log = bot_stack.logs[0].read_text(errors="replace")
    assert "the knowledge service is unavailable" in action_log
