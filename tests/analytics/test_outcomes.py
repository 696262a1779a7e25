"""Honest containment on crafted conversations (analytics/outcomes.py): resolved only when the
request was served (an answer not rejected, a finished task, the customer's thanks), abandoned
when a task was asked for and left unfinished, handed off when a person was asked for; and the
clarification and the NLU's guess recorded on the message."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from analytics import db, mapping
from analytics.events import compact, nlu_guess
from analytics.fact_model import ConversationFact
from analytics.facts import build_facts
from analytics.ingest import FACTS_SOURCE, FACTS_VERSION, FactWriter
from tests.analytics.scripts import Script

T0 = 1_700_000_000.0


def outcome_of(script: Script) -> ConversationFact:
    [fact] = build_facts(script.sender, [compact(e) for e in script.events])
    return fact


def ask_order_number(script: Script) -> Script:
    """"where is my order?": the form starts and asks for the number; nothing more."""
    script.user("where is my order?", "check_order_status")
    script.action("order_status_form").loop("order_status_form")
    script.slot("requested_slot", "order_number").bot("utter_ask_order_number", "Number?")
    return script.listen()


def test_a_served_faq_is_resolved_by_the_bot() -> None:
    fact = outcome_of(Script("o1", T0).session().faq("how do refunds work?", "refund_timing"))
    assert fact.outcome == mapping.BOT_RESOLVED


def test_a_completed_order_status_form_is_resolved_by_the_bot() -> None:
    fact = outcome_of(Script("o2", T0).session().greet().order_status())
    assert fact.outcome == mapping.BOT_RESOLVED and not fact.task_open


def test_the_customers_thanks_resolves() -> None:
    script = Script("o3", T0).session().user("are you a bot?", "bot_challenge")
    script.action("utter_iamabot").bot("utter_iamabot", "I am a bot.").listen()
    assert outcome_of(script).outcome == mapping.UNRESOLVED  # small talk alone: not served
    script.user("ok thanks", "thank").action("utter_youarewelcome")
    script.bot("utter_youarewelcome", "You're welcome!").listen()
    assert outcome_of(script).outcome == mapping.BOT_RESOLVED


def test_asked_for_the_order_and_left_without_the_number_is_abandoned() -> None:
    fact = outcome_of(ask_order_number(Script("o4", T0).session().greet()))
    assert fact.outcome == mapping.ABANDONED and fact.task_open


def test_an_answer_or_thanks_on_the_way_does_not_finish_the_task() -> None:
    faq = ask_order_number(Script("o5", T0).session())
    faq.user("what does shipping cost?", "faq").action("utter_faq")
    faq.bot("utter_faq/shipping_times", "Shipping is free.").action("order_status_form")
    faq.bot("utter_remind_order_number", "And your order number?").listen()
    assert outcome_of(faq).outcome == mapping.ABANDONED
    thanks = ask_order_number(Script("o6", T0).session())
    thanks.user("thanks", "thank").action("utter_youarewelcome")
    thanks.bot("utter_youarewelcome", "You're welcome!").action("order_status_form").listen()
    assert outcome_of(thanks).outcome == mapping.ABANDONED


def test_never_mind_and_a_failed_check_are_abandoned_a_later_finished_task_is_not() -> None:
    stopped = ask_order_number(Script("o7", T0).session())
    stopped.user("never mind", "deny").action("action_deactivate_loop").loop(None)
    stopped.action("utter_form_stopped").bot("utter_form_stopped", "OK, stopped.").listen()
    assert outcome_of(stopped).outcome == mapping.ABANDONED
    # an order number typed on its own starts the form too (no task intent)
    alone = Script("o8", T0).session().user("A10001", "inform")
    alone.action("order_status_form").loop("order_status_form")
    alone.bot("utter_ask_email", "E-mail?").listen()
    assert outcome_of(alone).outcome == mapping.ABANDONED
    # the same customer comes back within the session and finishes it
    alone.user("anna@example.com", "inform").action("order_status_form").loop(None)
    alone.action("action_check_order_status").bot("utter_order_shipped", "Shipped.").listen()
    assert outcome_of(alone).outcome == mapping.BOT_RESOLVED


def test_a_cancellation_is_served_when_done_or_kept_not_when_left_at_the_question() -> None:
    script = Script("o9", T0).session().user("cancel my order", "cancel_order")
    script.action("cancel_form").loop("cancel_form").action("cancel_form").loop(None)
    script.action("action_prepare_cancel").bot("utter_confirm_cancel", "Cancel A10001?")
    script.slot("pending_question", "cancel_confirmation").listen()
    assert outcome_of(script).outcome == mapping.ABANDONED
    script.user("yes", "affirm").action("action_cancel_order")
    script.bot("utter_order_cancelled", "Cancelled.").listen()
    assert outcome_of(script).outcome == mapping.BOT_RESOLVED


def test_a_knowledge_answer_resolves_unless_the_customer_rejects_it() -> None:
    shown = Script("o10", T0).session().knowledge("can I change size?", "exchanges")
    assert outcome_of(shown).outcome == mapping.BOT_RESOLVED
    rejected = Script("o11", T0).session().knowledge("can I change size?", "exchanges")
    rejected.kb_feedback(False)
    assert outcome_of(rejected).outcome == mapping.UNRESOLVED
    nothing = Script("o12", T0).session().knowledge("blorp", None)
    assert outcome_of(nothing).outcome == mapping.UNRESOLVED


def test_a_handoff_is_handed_off_even_with_a_task_left_open() -> None:
    script = ask_order_number(Script("o13", T0).session())
    script.user("I want a person", "request_human").action("action_handoff_to_human")
    script.bot("utter_handoff_started", "Passed on.").loop(None)
    script.slot("handoff_active", True).listen()
    assert outcome_of(script).outcome == mapping.HANDOFF_OPEN
    unreachable = ask_order_number(Script("o14", T0).session()).handoff(connected=False)
    assert outcome_of(unreachable).outcome == mapping.HANDOFF_UNAVAILABLE


def test_a_clarified_message_keeps_the_bots_guess() -> None:
    script = Script("o15", T0).session()
    script.user("parcel where", "nlu_fallback", confidence=0.3)
    script.action("action_knowledge_search").bot("utter_clarify_check_order_status",
                                                  "Do you want to know where your order is?")
    script.slot("pending_question", "clarify").listen()
    script.user("qqq", "nlu_fallback", confidence=0.1).action("action_knowledge_search")
    script.bot("utter_clarify_faq_shipping_times", "Is it about delivery times?").listen()
    script.user("money back when", "nlu_fallback", confidence=0.3)
    script.events[-2]["parse_data"]["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.3}, {"name": "start_return", "confidence": 0.2},
        {"name": "faq", "confidence": 0.19}]
    script.action("action_knowledge_search").bot("utter_clarify_two", "Returns or refunds?")
    script.slot("pending_question", "clarify").listen()
    first, second, two = outcome_of(script).turns
    assert first.clarified and first.guess == "check_order_status"
    assert second.clarified and second.guess == "faq/shipping_times"
    assert two.clarified and two.guess == "start_return"  # two guesses: the NLU's best
    plain = outcome_of(Script("o16", T0).session().greet()).turns[0]
    assert not plain.clarified and plain.guess == "greet"


def test_the_nlu_guess_is_the_best_intent_below_the_fallback() -> None:
    parse = {"intent": {"name": "nlu_fallback", "confidence": 0.3}, "intent_ranking": [
        {"name": "nlu_fallback", "confidence": 0.3}, {"name": "faq", "confidence": 0.25},
        {"name": "greet", "confidence": 0.1}],
        "response_selector": {"faq": {"response": {"intent_response_key": "faq/warranty"}}}}
    assert nlu_guess(parse) == "faq/warranty"
    parse["intent_ranking"] = parse["intent_ranking"][:1] + parse["intent_ranking"][2:]
    assert nlu_guess(parse) == "greet"
    assert nlu_guess({"intent": {"name": "nlu_fallback"}}) is None
    assert nlu_guess({"intent": {"name": "out_of_scope"}}) == "out_of_scope"


def test_facts_stored_under_older_definitions_are_recomputed_once(writer: FactWriter,
                                                                  engine: Engine) -> None:
    script = ask_order_number(Script("o17", T0).session())
    writer.ingest([compact(e) for e in script.events])
    with db.transaction(engine, write=True) as conn:  # as the old rule stored it
        conn.execute(update(db.conversations).values(outcome=mapping.UNRESOLVED))
    assert writer.ensure_current_facts() == 1
    assert writer.offset(FACTS_SOURCE) == FACTS_VERSION
    with db.transaction(engine) as conn:
        assert conn.execute(select(db.conversations.c.outcome)).scalar() == mapping.ABANDONED
    assert writer.ensure_current_facts() == 0  # once
