"""Facts from crafted event streams: outcomes, handoff times, knowledge feedback, languages,
clarified messages, sessions, idempotency and what is (not) kept of customer data."""

from __future__ import annotations

import json
import random

import pytest

from analytics import mapping
from analytics.events import BadEvent, compact, event_key, parse_message
from analytics.facts import build_facts
from tests.analytics.crafted import conversations, event_time
from tests.analytics.scripts import Script


def facts_of(script: Script):  # noqa: ANN201 - test helper
    return build_facts(script.sender, [compact(e) for e in script.events])


@pytest.fixture(scope="module")
def crafted() -> dict[str, Script]:
    return conversations()


@pytest.mark.parametrize(("name", "outcome"), [
    ("c01", mapping.BOT_RESOLVED), ("c02", mapping.BOT_RESOLVED),
    ("c03", mapping.AGENT_RESOLVED), ("c04", mapping.HANDOFF_UNAVAILABLE),
    ("c05", mapping.BOT_RESOLVED), ("c06", mapping.AGENT_RESOLVED),
    ("c07", mapping.UNRESOLVED), ("c08", mapping.HANDOFF_OPEN),
    # c10: a knowledge answer the customer did not reject is a served request
    ("c09", mapping.BOT_RESOLVED), ("c10", mapping.BOT_RESOLVED),
])
def test_each_crafted_conversation_has_its_known_outcome(crafted: dict[str, Script], name: str,
                                                         outcome: str) -> None:
    [fact] = facts_of(crafted[name])
    assert fact.outcome == outcome


def test_handoff_times_are_measured_from_the_handoff_to_the_agents_reply_and_close(
        crafted: dict[str, Script]) -> None:
    script = crafted["c03"]
    [fact] = facts_of(script)
    asked = event_time(script, event="action", name="action_handoff_to_human")
    replied = event_time(script, event="user", intent="EXTERNAL_agent_message")
    closed = event_time(script, event="user", intent="EXTERNAL_handoff_closed")
    assert fact.handoff is not None and fact.handoff.connected
    assert fact.first_response_s == pytest.approx(replied - asked)
    assert fact.first_response_s == pytest.approx(90.0, abs=0.1)
    assert fact.resolution_s == pytest.approx(closed - asked)
    assert fact.resolution_s == pytest.approx(600.0, abs=0.1)
    assert fact.handoff.case_id == 7
    assert fact.agent_messages == 1
    assert fact.csat_rating == 4 and fact.csat_asked


def test_not_found_twice_then_a_person(crafted: dict[str, Script]) -> None:
    script = crafted["c06"]
    [fact] = facts_of(script)
    asked = event_time(script, event="action", name="action_handoff_to_human")
    replied = event_time(script, event="user", intent="EXTERNAL_agent_message")
    assert fact.handoff_requested and fact.handoff is not None and fact.handoff.connected
    assert fact.handoff.reason == "affirm" and fact.handoff.case_id == 8
    assert fact.first_response_s == pytest.approx(replied - asked)
    assert fact.fallback_turns == 2
    assert [t.knowledge for t in fact.turns[:3]] == ["not_found", "not_found", None]
    assert fact.language == "zh"
    assert fact.csat_rating == 2  # typed "2", read by the action server's own rule


def test_a_handoff_run_inside_another_action_is_a_handoff() -> None:
    """Rasa's two-stage fallback gives up by running the fallback action's events under its own
    name: the handoff is recognised by its response and the handoff slot."""
    script = Script("ts", 1_700_000_000.0).session()
    script.user("blorp", "nlu_fallback", confidence=0.1)
    script.action("action_two_stage_fallback").bot("utter_handoff_started", "passed on")
    script.slot("handoff_active", True).slot("handoff_case_id", 3.0).listen()
    script.agent_reply("hello", dt=12.0)
    [fact] = facts_of(script)
    asked = event_time(script, event="action", name="action_two_stage_fallback")
    replied = event_time(script, event="user", intent="EXTERNAL_agent_message")
    assert fact.handoff is not None and fact.handoff.connected and fact.turns[0].fallback
    assert fact.first_response_s == pytest.approx(replied - asked)


def test_a_handoff_the_e_mail_channel_logs_itself() -> None:
    """mail/inbound.py hands a mail to a person without a handoff action: it logs the handoff
    slots and then the response, after the customer's message."""
    script = Script("mail-1", 1_700_000_000.0, channel="email").session()
    script.greet()  # an earlier turn: its action must not date the handoff
    script.user("Complaint: the sofa arrived broken", "complaint", dt=3600.0)
    script.slot("handoff_active", True).slot("handoff_case_id", 12.0)
    script.bot("utter_handoff_started", "A colleague will answer your mail (case #12).")
    script.agent_reply("Sorry about the sofa, we'll send a new one.", dt=600.0)
    asked = [e for e in script.events if e["event"] == "slot"
             and e["name"] == "handoff_active"][0]["timestamp"]
    replied = event_time(script, event="user", intent="EXTERNAL_agent_message")
    [fact] = facts_of(script)
    assert fact.channel == "email" and fact.handoff is not None and fact.handoff.connected
    assert fact.handoff.case_id == 12 and fact.handoff.reason == "complaint"
    # dated by the turn's last action (action_extract_slots), a millisecond before the slot
    assert fact.first_response_s == pytest.approx(replied - asked, abs=0.01)
    assert fact.first_response_s == pytest.approx(600.0, abs=0.1)

    unreachable = Script("mail-2", 1_700_000_000.0, channel="email").session()
    unreachable.user("where is my order", "check_order_status")
    unreachable.bot("utter_handoff_unavailable", "We'll answer your mail soon (case #13).")
    [fact] = facts_of(unreachable)
    assert fact.outcome == mapping.HANDOFF_UNAVAILABLE


def test_a_handoff_flag_carried_into_a_new_session_is_no_new_handoff() -> None:
    script = Script("carry", 1_700_000_000.0).session()
    script.slot("handoff_active", True)  # carried over; the case was closed meanwhile
    script.greet()
    [fact] = facts_of(script)
    assert not fact.handoff_requested and fact.outcome == mapping.UNRESOLVED


def test_no_person_reached_counts_as_a_handoff_without_times(crafted: dict[str, Script]) -> None:
    [fact] = facts_of(crafted["c04"])
    assert fact.handoff_requested and fact.handoff is not None
    assert not fact.handoff.connected
    assert fact.first_response_s is None and fact.resolution_s is None
    assert fact.channel == "socketio"


def test_knowledge_feedback_lands_on_the_question(crafted: dict[str, Script]) -> None:
    [helped] = facts_of(crafted["c05"])
    question, answer = helped.turns
    assert (question.knowledge, question.article_id, question.kb_feedback) == (
        "answered", "returns-policy", "helpful")
    assert answer.kb_feedback is None and answer.final_intent == "affirm"
    assert helped.language == "sv" and helped.knowledge_helpful == 1

    [unanswered_feedback] = facts_of(crafted["c10"])
    assert unanswered_feedback.turns[0].kb_feedback is None
    assert unanswered_feedback.knowledge_answers == 1


def test_a_person_asked_for_right_after_an_answer(crafted: dict[str, Script]) -> None:
    [fact] = facts_of(crafted["c08"])
    assert fact.customer_turns == 2
    assert fact.turns[0].kb_feedback == "not_helpful"  # the answer did not help
    assert fact.handoff is not None and fact.handoff.reason == "request_human"
    assert fact.outcome == mapping.HANDOFF_OPEN


def test_a_message_logged_again_with_a_clarified_intent_is_one_turn() -> None:
    """The message is taken back (rewind) and logged again with another intent, as Rasa's
    two-stage fallback and earlier versions of the knowledge fallback do."""
    script = Script("rl", 1_700_000_000.0).session()
    script.knowledge("hvor lang tid tar frakten", "shipping-nordics", language="nb")
    script.user("jeg vil snakke med et menneske", "nlu_fallback", language="nb", confidence=0.2)
    script.action("action_knowledge_search")
    script.add("rewind", 0.001)
    script.listen()
    script.add("user", 0.001, text="jeg vil snakke med et menneske", input_channel="rest",
               parse_data={"text": "jeg vil snakke med et menneske", "entities": [],
                           "intent": {"name": "request_human", "confidence": 1.0}})
    script.handoff(connected=True, typed=False)
    [fact] = facts_of(script)
    assert fact.customer_turns == 2
    person = fact.turns[1]
    assert (person.intent, person.final_intent) == ("nlu_fallback", "request_human")
    assert person.knowledge is None  # taken back: no search counted for it
    assert fact.turns[0].kb_feedback == "not_helpful"
    assert fact.handoff is not None and fact.handoff.reason == "request_human"


def test_csat_skip_is_asked_but_not_rated(crafted: dict[str, Script]) -> None:
    [fact] = facts_of(crafted["c09"])
    assert fact.csat_asked and fact.csat_rating is None and fact.csat_skipped


def test_two_sessions_of_one_sender_are_two_conversations() -> None:
    script = Script("s1", 1_700_000_000.0).session().greet().faq("returns?", "returns_policy")
    script.t += 7200  # a new session after the expiry
    script.session().greet()
    first, second = facts_of(script)
    assert first.outcome == mapping.BOT_RESOLVED and second.outcome == mapping.UNRESOLVED
    assert first.conversation_id != second.conversation_id
    assert second.started_at > first.ended_at
    assert (first.customer_turns, second.customer_turns) == (2, 1)


def test_an_open_handoff_follows_the_customer_into_the_next_session() -> None:
    script = Script("s2", 1_700_000_000.0).session().handoff(connected=True)
    asked = event_time(script, event="action", name="action_handoff_to_human")
    script.t += 4000
    script.session().slot("handoff_active", True)  # carried over
    script.user("hello?", "greet").action("action_forward_to_agent").listen()
    script.agent_reply("sorry for the wait", dt=20.0).agent_close(dt=40.0)
    replied = event_time(script, event="user", intent="EXTERNAL_agent_message")
    first, second = facts_of(script)
    assert first.handoff is not None
    assert first.first_response_s == pytest.approx(replied - asked)
    assert first.outcome == mapping.AGENT_RESOLVED
    assert not second.handoff_requested and second.outcome == mapping.AGENT_RESOLVED


def test_events_without_a_session_start_still_make_a_conversation() -> None:
    script = Script("s3", 1_700_000_000.0).greet()
    [fact] = facts_of(script)
    assert fact.customer_turns == 1 and fact.started_at == script.events[0]["timestamp"]


def test_a_session_without_customer_messages_is_no_conversation() -> None:
    assert facts_of(Script("s4", 1_700_000_000.0).session()) == []


def test_the_same_event_has_the_same_key_and_another_event_another_key() -> None:
    raw = Script("k", 1.0).user("hi", "greet").events[0]
    assert event_key(raw) == event_key(json.loads(json.dumps(raw)))
    assert event_key(raw) == event_key(dict(reversed(list(raw.items()))))
    assert event_key({**raw, "timestamp": raw["timestamp"] + 0.001}) != event_key(raw)
    assert event_key({**raw, "text": "hello"}) != event_key(raw)
    assert event_key({**raw, "sender_id": "other"}) != event_key(raw)


def test_customer_data_is_masked_or_dropped() -> None:
    script = Script("p", 1.0).user("my mail is anna.berg@example.com thanks", "inform")
    script.slot("email", "anna.berg@example.com").slot("order_number", "A10001")
    script.slot("csat_rating", "great, write to me at bo@example.se")
    user, _, email_slot, order_slot, rating = (compact(e) for e in script.events)
    assert user.text == "my mail is [e-mail] thanks"
    assert email_slot.value is None and order_slot.value is None
    assert rating.value is not None and "example.se" not in rating.value
    stored = json.dumps([user.__dict__, email_slot.__dict__, rating.__dict__])
    assert "anna.berg" not in stored and "bo@" not in stored


def test_agent_text_comes_from_the_entity_and_is_masked() -> None:
    script = Script("a", 1.0).external("EXTERNAL_agent_message", "write to eva@nordvik.example")
    record = compact(script.events[0])
    assert record.intent == "EXTERNAL_agent_message"
    assert record.text == "write to [e-mail]"


@pytest.mark.parametrize("body", [
    b"not json", b"\xff\xfe", b"[1, 2]", b'"text"',
    b'{"event": "user", "timestamp": 1.0}',                       # no sender
    b'{"sender_id": "x", "timestamp": 1.0}',                      # no type
    b'{"sender_id": "x", "event": "user"}',                       # no timestamp
    b'{"sender_id": "x", "event": "user", "timestamp": "soon"}',
    b'{"sender_id": "x", "event": "user", "timestamp": NaN}',
    b'{"sender_id": "", "event": "user", "timestamp": 1.0}',
])
def test_a_message_that_is_no_rasa_event_is_refused_with_a_reason(body: bytes) -> None:
    with pytest.raises(BadEvent) as caught:
        compact(parse_message(body))
    assert str(caught.value)


def test_facts_do_not_depend_on_duplicates_in_the_stream(crafted: dict[str, Script]) -> None:
    script = crafted["c03"]
    once = facts_of(script)
    doubled: list[dict[str, object]] = []
    rng = random.Random(3)
    for event in script.events:
        doubled.append(event)
        if rng.random() < 0.5:
            doubled.append(dict(event))
    # the writer drops a key it has seen; the facts of the deduplicated stream are the same
    seen: set[str] = set()
    unique = []
    for event in doubled:
        record = compact(event)
        if record.key not in seen:
            seen.add(record.key)
            unique.append(record)
    again = build_facts(script.sender, unique)
    assert [(f.outcome, f.customer_turns, f.first_response_s) for f in again] == [
        (f.outcome, f.customer_turns, f.first_response_s) for f in once]
