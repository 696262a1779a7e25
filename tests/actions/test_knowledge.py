"""Knowledge fallback: the answer, the two-stage fallback, inside a form and with the service
down; with a fake KnowledgeSearch that records what was asked, and the real HTTP client against
a closed port."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from actions import knowledge
from actions.knowledge import (
    ActionAcceptGuess,
    ActionKnowledgeFeedback,
    ActionKnowledgeSearch,
    best_guess,
    find_answer,
)
from kb_index.errors import InvalidQuery, KnowledgeUnavailable
from kb_index.types import Hit
from message_catalogue.messages import get_catalogue
from tests.actions.helpers import names, run, slots_of
from tests.support.trackers import make_tracker

RETURNS = Hit(article_id="returns-sv", title="Returer", passage="Du har 30 dagar på dig.",
              score=0.82, language="sv", url="https://help.nordvik.example/sv/returer",
              stale=False)


class FakeSearch:
    """A KnowledgeSearch that answers with fixed hits (or an error) and records the queries."""

    def __init__(self, hits: list[Hit] | None = None, error: Exception | None = None) -> None:
        self.hits = hits or []
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def search(self, query: str, *, k: int = 5, lang: str | None = None,
               audience: tuple[str, ...] = ("public",), tags: tuple[str, ...] = ()) -> list[Hit]:
        self.calls.append({"query": query, "k": k, "lang": lang, "audience": audience})
        if self.error is not None:
            raise self.error
        return list(self.hits)


@pytest.fixture()
def kb(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSearch]:
    fake = FakeSearch()
    monkeypatch.setattr(knowledge, "knowledge_client", lambda: fake)
    monkeypatch.setenv("KB_MIN_SCORE", "0.5")
    yield fake


def question(text: str = "kan jag skicka tillbaka en soffa?", *, language: str = "sv",
             ranking: list[dict[str, Any]] | None = None, **kwargs: Any) -> Any:
    slots = {"language": language, **kwargs.pop("slots", {})}
    intent = kwargs.pop("intent", "out_of_scope")
    return make_tracker(text=text, intent=intent, slots=slots,
                        intent_ranking=ranking or [{"name": "out_of_scope", "confidence": 0.9}],
                        **kwargs)


async def test_an_answer_above_the_threshold_is_shown_and_asked_about(kb: FakeSearch) -> None:
    kb.hits = [RETURNS]
    messages, events = await run(ActionKnowledgeSearch(), question())
    assert names(messages) == ["utter_kb_answer", "utter_kb_helped"]
    assert {key: messages[0][key] for key in ("title", "passage", "url")} == {
        "title": "Returer", "passage": "Du har 30 dagar på dig.",
        "url": "https://help.nordvik.example/sv/returer"}
    assert slots_of(events) == {"kb_article_id": "returns-sv", "pending_question": "kb_helpful"}
    # the search goes out in the conversation's language, for public articles only
    assert kb.calls == [{"query": "kan jag skicka tillbaka en soffa?", "k": 3, "lang": "sv",
                         "audience": ("public",)}]


@pytest.mark.parametrize("language", ["en", "nb", "zh"])
async def test_the_search_uses_the_conversations_language(kb: FakeSearch, language: str) -> None:
    await run(ActionKnowledgeSearch(), question("sofa?", language=language))
    assert kb.calls[0]["lang"] == language


async def test_the_best_usable_hit_wins(kb: FakeSearch) -> None:
    kb.hits = [
        Hit("low", "Low", "low", 0.49, "sv", "https://x/low", False),
        Hit("stale", "Stale", "stale", 0.99, "sv", "https://x/stale", True),
        Hit("internal", "Internal", "internal", 0.98, "sv", "https://x/internal", False,
            audience="internal"),
        Hit("good", "Good", "good", 0.6, "sv", "https://x/good", False),
        Hit("best", "Best", "best", 0.7, "sv", "https://x/best", False),
    ]
    messages, events = await run(ActionKnowledgeSearch(), question())
    assert messages[0]["title"] == "Best"
    assert slots_of(events)["kb_article_id"] == "best"


async def test_a_long_passage_is_shortened_at_a_word(kb: FakeSearch) -> None:
    kb.hits = [Hit("long", "Long", "word " * 400, 0.9, "en", "https://x/long", False)]
    messages, _ = await run(ActionKnowledgeSearch(), question())
    passage = messages[0]["passage"]
    assert len(passage) <= 600 and passage.endswith("word…")


async def test_nothing_found_with_an_intent_guess_asks_if_that_was_meant(kb: FakeSearch) -> None:
    kb.hits = [Hit("low", "Low", "low", 0.2, "sv", "https://x/low", False)]
    ranking = [{"name": "nlu_fallback", "confidence": 0.4},
               {"name": "check_order_status", "confidence": 0.3}]
    messages, events = await run(ActionKnowledgeSearch(),
                                 question("paket?", ranking=ranking, intent="nlu_fallback"))
    assert names(messages) == ["utter_clarify_check_order_status"]
    assert slots_of(events) == {"pending_question": "clarify",
                                "clarify_guess": "utter_clarify_check_order_status"}


async def test_nothing_found_with_a_faq_guess_names_the_topic(kb: FakeSearch) -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "faq", "confidence": 0.35}]
    selector = {"faq": {"response": {"intent_response_key": "faq/shipping_times"}}}
    messages, events = await run(
        ActionKnowledgeSearch(),
        question("frakt?", ranking=ranking, response_selector=selector, intent="nlu_fallback"))
    assert names(messages) == ["utter_clarify_faq_shipping_times"]
    assert slots_of(events) == {"pending_question": "clarify",
                                "clarify_guess": "utter_clarify_faq_shipping_times"}


async def test_nothing_found_without_a_guess_asks_to_rephrase(kb: FakeSearch) -> None:
    ranking = [{"name": "out_of_scope", "confidence": 0.8},
               {"name": "check_order_status", "confidence": 0.1}]
    messages, events = await run(ActionKnowledgeSearch(), question(ranking=ranking))
    assert names(messages) == ["utter_ask_rephrase"]
    assert slots_of(events) == {"pending_question": "kb_rephrase"}


async def test_the_rephrased_question_finding_nothing_offers_a_person(kb: FakeSearch) -> None:
    ranking = [{"name": "nlu_fallback", "confidence": 0.4},
               {"name": "cancel_order", "confidence": 0.3}]
    tracker = question("jag menar en soffa", ranking=ranking,
                       slots={"pending_question": "kb_rephrase"})
    messages, events = await run(ActionKnowledgeSearch(), tracker)
    assert names(messages) == ["utter_offer_human"]  # no second guess
    assert slots_of(events) == {"pending_question": "human_offer",
                                "human_offer_reason": "not_understood"}


async def test_the_rephrased_question_can_still_be_answered(kb: FakeSearch) -> None:
    kb.hits = [RETURNS]
    tracker = question(slots={"pending_question": "kb_rephrase"})
    messages, _ = await run(ActionKnowledgeSearch(), tracker)
    assert names(messages) == ["utter_kb_answer", "utter_kb_helped"]


async def test_inside_a_form_it_only_answers(kb: FakeSearch) -> None:
    kb.hits = [RETURNS]
    tracker = question(active_loop="order_status_form", slots={"requested_slot": "email"})
    messages, events = await run(ActionKnowledgeSearch(), tracker)
    assert names(messages) == ["utter_kb_answer"]
    assert slots_of(events) == {"pending_question": None}
    kb.hits = []
    messages, events = await run(ActionKnowledgeSearch(), tracker)
    assert names(messages) == ["utter_kb_no_answer"]
    assert slots_of(events) == {"pending_question": None}


async def test_the_service_down_is_said_and_a_person_offered(
        kb: FakeSearch, caplog: pytest.LogCaptureFixture) -> None:
    kb.error = KnowledgeUnavailable("kb serve is not answering")
    messages, events = await run(ActionKnowledgeSearch(), question())
    assert names(messages) == ["utter_kb_unavailable", "utter_offer_human"]
    assert slots_of(events) == {"pending_question": "human_offer",
                                "human_offer_reason": "knowledge_unavailable"}
    assert "knowledge service is unavailable" in caplog.text
    in_form = question(active_loop="cancel_form")
    messages, events = await run(ActionKnowledgeSearch(), in_form)
    assert names(messages) == ["utter_kb_unavailable"]
    assert slots_of(events) == {"pending_question": None}


async def test_the_real_client_against_a_closed_port(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("KB_URL", closed)
    knowledge.knowledge_client.cache_clear()
    try:
        messages, _ = await run(ActionKnowledgeSearch(), question())
    finally:
        knowledge.knowledge_client.cache_clear()
    assert names(messages) == ["utter_kb_unavailable", "utter_offer_human"]


async def test_a_refused_query_counts_as_nothing_found(kb: FakeSearch) -> None:
    kb.error = InvalidQuery("too long")
    messages, _ = await run(ActionKnowledgeSearch(), question("x" * 1999))
    assert names(messages) == ["utter_ask_rephrase"]


async def test_an_empty_message_is_not_searched(kb: FakeSearch) -> None:
    messages, _ = await run(ActionKnowledgeSearch(), question("   "))
    assert kb.calls == []
    assert names(messages) == ["utter_ask_rephrase"]


async def test_nothing_personal_is_logged(kb: FakeSearch,
                                          caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    kb.hits = [RETURNS]
    await run(ActionKnowledgeSearch(), question("min mejl är anna.berg@example.com, soffa?"))
    kb.hits = []
    await run(ActionKnowledgeSearch(), question("min mejl är anna.berg@example.com, soffa?"))
    assert "anna.berg" not in caplog.text and "soffa" not in caplog.text


async def test_no_to_the_answer_asks_to_rephrase() -> None:
    tracker = make_tracker(intent="deny", text="no", slots={"pending_question": "kb_helpful",
                                                              "kb_article_id": "returns-sv"})
    messages, events = await run(ActionKnowledgeFeedback(), tracker)
    assert names(messages) == ["utter_kb_rephrase"]
    assert slots_of(events) == {"kb_article_id": None, "pending_question": "kb_rephrase"}


# --- the guess ----------------------------------------------------------------------------------


def test_best_guess_walks_the_ranking() -> None:
    def guess(*ranked: tuple[str, float], topic: str | None = None) -> str | None:
        parse: dict[str, Any] = {"intent_ranking": [{"name": n, "confidence": c}
                                                    for n, c in ranked]}
        if topic is not None:
            parse["response_selector"] = {"faq": {"response": {"intent_response_key": topic}}}
        return best_guess(parse)

    assert guess(("nlu_fallback", 0.5), ("greet", 0.3), ("start_return", 0.2)) == (
        "utter_clarify_start_return")  # greet cannot be asked about; the next one can
    assert guess(("nlu_fallback", 0.5), ("complaint", 0.1)) is None  # too unsure
    assert guess(("faq", 0.4), topic="faq/gift_cards") == "utter_clarify_faq_gift_cards"
    assert guess(("faq", 0.4), topic="faq/unknown_topic") is None
    assert guess(("faq", 0.4)) is None
    assert guess() is None


def test_every_guess_has_its_response() -> None:
    known = set(get_catalogue().names())
    wanted = {f"utter_clarify_{name}" for name in knowledge.CLARIFIABLE_INTENTS}
    wanted |= {f"utter_clarify_faq_{topic}" for topic in knowledge.FAQ_TOPICS}
    assert wanted <= known, sorted(wanted - known)


def test_find_answer_returns_nothing_below_the_threshold() -> None:
    search = FakeSearch([RETURNS])
    assert find_answer(search, "q", language="sv", min_score=0.9) is None
    found = find_answer(search, "q", language="sv", min_score=0.8)
    assert found is not None and found.article_id == "returns-sv"


@pytest.mark.parametrize(("guess", "intent", "topic"), [
    ("utter_clarify_check_order_status", "check_order_status", None),
    ("utter_clarify_request_human", "request_human", None),
    ("utter_clarify_faq_shipping_times", "faq", "faq/shipping_times"),
])
async def test_a_typed_yes_takes_the_unclear_message_as_the_guess(
        guess: str, intent: str, topic: str | None) -> None:
    history = [{"event": "user", "text": "frakt eller paket?",
                "parse_data": {"intent": {"name": "nlu_fallback"}}},
               {"event": "bot", "text": "Menar du ...?"}]
    tracker = make_tracker(intent="affirm", text="ja", history=history,
                           slots={"pending_question": "clarify", "clarify_guess": guess})
    messages, events = await run(ActionAcceptGuess(), tracker)
    assert messages == []
    kinds = [event["event"] for event in events]
    assert kinds[:3] == ["rewind", "action", "user"]
    relogged = events[2]
    assert relogged["text"] == "frakt eller paket?"
    assert relogged["parse_data"]["intent"]["name"] == intent
    if topic is not None:
        selected = relogged["parse_data"]["response_selector"]["faq"]["response"]
        assert selected["intent_response_key"] == topic
        assert selected["utter_action"] == f"utter_{topic}"
    assert slots_of(events) == {"clarify_guess": None}


async def test_a_typed_yes_without_a_guess_gets_one_polite_reply() -> None:
    tracker = make_tracker(intent="affirm", text="yes", slots={"pending_question": "clarify"})
    messages, events = await run(ActionAcceptGuess(), tracker)
    assert names(messages) == ["utter_out_of_context_affirm"]
    assert events == []


# --- asking instead of guessing (issue 26) ------------------------------------------------------


def ranking_of(*ranked: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"name": name, "confidence": confidence} for name, confidence in ranked]


def test_two_close_guesses_are_both_named_and_far_ones_are_not() -> None:
    close = {"intent_ranking": ranking_of(("nlu_fallback", 0.7), ("check_order_status", 0.28),
                                          ("cancel_order", 0.22), ("start_return", 0.2))}
    assert knowledge.clarify_guesses(close) == ["utter_clarify_check_order_status",
                                                "utter_clarify_cancel_order"]
    far = {"intent_ranking": ranking_of(("nlu_fallback", 0.7), ("check_order_status", 0.4),
                                        ("cancel_order", 0.2))}
    assert knowledge.clarify_guesses(far) == ["utter_clarify_check_order_status"]
    unsure = {"intent_ranking": ranking_of(("out_of_scope", 0.8), ("complaint", 0.16),
                                           ("cancel_order", 0.1))}
    assert knowledge.clarify_guesses(unsure) == ["utter_clarify_complaint"]  # 0.1 < 0.15


def test_the_faq_intent_stands_for_its_topics() -> None:
    """`faq` has its best topic's confidence; a second topic close to it is a second guess,
    ranked among the other intents by its own share."""
    selector = {"faq": {"response": {"intent_response_key": "faq/returns_policy"},
                        "ranking": [{"intent_response_key": "faq/returns_policy",
                                     "confidence": 0.5},
                                    {"intent_response_key": "faq/refund_timing",
                                     "confidence": 0.4},
                                    {"intent_response_key": "faq/warranty",
                                     "confidence": 0.1}]}}
    parse = {"intent_ranking": ranking_of(("nlu_fallback", 0.7), ("faq", 0.3),
                                          ("start_return", 0.2)),
             "response_selector": selector}
    assert knowledge.ranked_guesses(parse)[:3] == [
        ("utter_clarify_faq_returns_policy", 0.3),
        ("utter_clarify_faq_refund_timing", pytest.approx(0.24)),
        ("utter_clarify_start_return", 0.2)]
    assert knowledge.clarify_guesses(parse) == ["utter_clarify_faq_returns_policy",
                                                "utter_clarify_faq_refund_timing"]


@pytest.mark.parametrize("language", ["en", "sv", "nb", "zh"])
async def test_two_close_guesses_are_asked_about_with_a_button_each(
        kb: FakeSearch, language: str) -> None:
    ranking = ranking_of(("nlu_fallback", 0.5), ("faq", 0.3), ("check_order_status", 0.25))
    selector = {"faq": {"response": {"intent_response_key": "faq/shipping_times"}}}
    messages, events = await run(ActionKnowledgeSearch(), question(
        "leverans?", language=language, ranking=ranking, response_selector=selector,
        intent="nlu_fallback"))
    assert names(messages) == ["utter_clarify_two"]
    catalogue = get_catalogue()
    shipping = catalogue.render("utter_clarify_faq_shipping_times", language)
    order = catalogue.render("utter_clarify_check_order_status", language)
    assert {key: messages[0][key] for key in ("first", "first_payload", "second",
                                              "second_payload")} == {
        "first": catalogue.text("utter_clarify_label_faq_shipping_times", language),
        "first_payload": shipping.buttons[0].payload,  # the topic's question in the language
        "second": catalogue.text("utter_clarify_label_check_order_status", language),
        "second_payload": order.buttons[0].payload}  # /check_order_status
    assert order.buttons[0].payload == "/check_order_status"
    buttons = catalogue.render("utter_clarify_two", language).buttons
    assert [b.payload for b in buttons[2:]] == ["/deny", "/request_human"]  # none; a person
    assert slots_of(events) == {"pending_question": "clarify", "clarify_guess": None}


def test_every_guess_has_a_label_in_every_language() -> None:
    catalogue = get_catalogue()
    guesses = [f"{name}" for name in knowledge.CLARIFIABLE_INTENTS]
    guesses += [f"faq_{topic}" for topic in knowledge.FAQ_TOPICS]
    for guess in guesses:
        assert catalogue.languages(f"utter_clarify_label_{guess}") == {"en", "sv", "nb", "zh"}
        for language in ("en", "sv", "nb", "zh"):
            label, payload = knowledge.guess_choice(f"utter_clarify_{guess}", language)
            assert label.strip() and payload.strip()


@pytest.mark.parametrize("language", ["en", "sv", "nb", "zh"])
async def test_no_guess_and_no_article_never_ends_on_a_bare_sorry(
        kb: FakeSearch, language: str) -> None:
    """The reply asks to rephrase and carries a button for a person, in the language."""
    ranking = ranking_of(("out_of_scope", 0.9), ("greet", 0.05))
    messages, events = await run(ActionKnowledgeSearch(), question(
        "help me to solve an issue with payments", language=language, ranking=ranking))
    assert names(messages) == ["utter_ask_rephrase"]
    rendered = get_catalogue().render("utter_ask_rephrase", language)
    assert [b.payload for b in rendered.buttons] == ["/request_human"]
    assert slots_of(events) == {"pending_question": "kb_rephrase"}


def clarify_tracker(language: str = "sv", answer: str = "nej") -> Any:
    history = [{"event": "user", "text": "problem med betalningen",
                "parse_data": {"intent": {"name": "nlu_fallback"}}},
               {"event": "bot", "text": "Menar du ...?"}]
    return make_tracker(intent="deny", text=answer, history=history,
                        slots={"language": language, "pending_question": "clarify",
                               "clarify_guess": "utter_clarify_faq_payment_methods"})


async def test_none_of_these_lists_the_nearest_articles_and_offers_a_person(
        kb: FakeSearch) -> None:
    kb.hits = [  # KB_MIN_SCORE 0.5: related from 0.25 up, one line per article
        Hit("pay", "Betalning", "p1", 0.3, "sv", "https://x/pay", False),
        Hit("pay", "Betalning", "p2", 0.28, "sv", "https://x/pay", False),
        Hit("stale", "Gammal", "s", 0.45, "sv", "https://x/stale", True),
        Hit("far", "Långt bort", "f", 0.2, "sv", "https://x/far", False),
        Hit("ref", "Återbetalning", "r", 0.26, "sv", "https://x/ref", False),
    ]
    messages, events = await run(ActionKnowledgeFeedback(), clarify_tracker())
    assert names(messages) == ["utter_kb_related", "utter_offer_human"]
    assert messages[0]["articles"] == ("• Betalning: https://x/pay\n"
                                       "• Återbetalning: https://x/ref")
    assert kb.calls == [{"query": "problem med betalningen", "k": 3, "lang": "sv",
                         "audience": ("public",)}]  # the unclear message, not the "no"
    assert slots_of(events) == {"clarify_guess": None, "kb_article_id": None,
                                "pending_question": "human_offer",
                                "human_offer_reason": "not_understood"}


async def test_none_of_these_without_articles_or_service_still_offers_a_person(
        kb: FakeSearch) -> None:
    kb.hits = [Hit("far", "Långt bort", "f", 0.2, "sv", "https://x/far", False)]
    messages, events = await run(ActionKnowledgeFeedback(), clarify_tracker())
    assert names(messages) == ["utter_offer_human"]
    kb.error = KnowledgeUnavailable("down")
    messages, events = await run(ActionKnowledgeFeedback(), clarify_tracker("zh", "都不是"))
    assert names(messages) == ["utter_offer_human"]
    assert slots_of(events)["pending_question"] == "human_offer"
