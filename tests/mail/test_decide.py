"""Which mails are answered by mail, which go to a person, which need nothing."""

from __future__ import annotations

import pytest

from mail.decide import Turn, decide, turn_from_events


def turn(*responses: str | None, actions: tuple[str, ...] = (),
         handoff: bool = False) -> Turn:
    return Turn(tuple(responses), actions, handoff)


@pytest.mark.parametrize("responses", [
    ("utter_order_in_transit",),
    ("utter_order_not_found", "utter_ask_order_number"),
    ("utter_faq/returns_policy",),
    ("utter_kb_answer", "utter_kb_helped"),
    ("utter_ask_order_number",),
    ("utter_confirm_cancel",),
    ("utter_csat_thanks",),
    ("utter_complaint", "utter_handoff_started"),
    ("utter_handoff_started_offline",),
    ("utter_greet",),
], ids=lambda r: "+".join(r))
def test_confident_answers_are_mailed(responses: tuple[str, ...]) -> None:
    assert decide(turn(*responses)).kind == "reply"


@pytest.mark.parametrize("responses", [
    (),
    ("utter_ask_rephrase",),
    ("utter_clarify_faq_shipping_times",),
    ("utter_kb_unavailable", "utter_offer_human"),
    ("utter_core_fallback",),
    ("utter_verification_locked", "utter_offer_human"),
    ("utter_out_of_context_affirm",),
    ("utter_kb_answer", "utter_kb_no_answer"),
], ids=lambda r: "+".join(str(x) for x in r) or "nothing")
def test_anything_unclear_goes_to_a_person(responses: tuple[str | None, ...]) -> None:
    assert decide(turn(*responses)).kind == "handoff"


def test_plain_text_without_a_response_name_is_mailed_as_it_is() -> None:
    assert decide(turn(None)).kind == "reply"  # e.g. an agent's words relayed by the dialogue


def test_during_a_handoff_the_mail_goes_to_the_agent() -> None:
    forwarded = decide(turn(actions=("action_forward_to_agent",), handoff=True))
    assert forwarded.kind == "forwarded"
    ended = decide(turn("utter_handoff_ended", actions=("action_forward_to_agent",)))
    assert ended.kind == "reply"


def test_a_thank_you_alone_needs_no_mail() -> None:
    assert decide(turn("utter_youarewelcome")).kind == "silent"
    assert decide(turn("utter_goodbye")).kind == "silent"


def test_the_turn_is_read_from_the_latest_user_message() -> None:
    events = [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": "old"},
        {"event": "action", "name": "action_check_order_status"},
        {"event": "user", "text": "new"},
        {"event": "action", "name": "action_track_context"},
        {"event": "action", "name": "action_forward_to_agent"},
        {"event": "slot", "name": "handoff_active", "value": True},
    ]
    read = turn_from_events(events, [], True)
    assert read.actions == ("action_track_context", "action_forward_to_agent")
    assert decide(read).kind == "forwarded"
