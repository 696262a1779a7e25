"""Logging a phone callback's outcome from its Slack card (handoff/callbacks.py and the Slack
app's listener), against a real SQLite store and a mocked Slack client."""

from __future__ import annotations

from unittest.mock import Mock

from bot.listeners.handoff.callbacks import callback_outcome_button
from handoff.callbacks import CALLBACK_OUTCOMES, callback_blocks, log_callback_outcome
from store.repository import OrderStore
from tests.support.store import ORDERS, interactions


def phone_case(crm: OrderStore) -> int:
    case = crm.open_case(subject="Phone callback: +46701112233, Swedish (sv)", channel="phone",
                         order_number=ORDERS["in_transit"].number, conversation_id="phone-abc")
    return int(case.id)


def click(case_id: int | str, action_id: str, blocks: list[dict]) -> dict:
    return {"actions": [{"action_id": action_id, "value": str(case_id)}],
            "user": {"id": "U1"}, "channel": {"id": "CPHONE"},
            "message": {"ts": "111.222", "blocks": blocks}}


def test_the_card_has_one_button_per_outcome() -> None:
    blocks = callback_blocks(7, "+46701112233", "sv", "A10001")
    text = blocks[0]["text"]["text"]
    assert "+46701112233" in text and "Swedish (sv)" in text and "A10001" in text
    assert [b["action_id"] for b in blocks[1]["elements"]] == list(CALLBACK_OUTCOMES)
    assert {b["value"] for b in blocks[1]["elements"]} == {"7"}


def test_an_outcome_is_recorded_and_closes_the_case(test_store: OrderStore) -> None:
    case_id = phone_case(test_store)
    client, ack = Mock(), Mock()
    blocks = callback_blocks(case_id, "+46701112233", "sv", None)
    outcome = callback_outcome_button(ack, click(case_id, "phone_callback_resolved", blocks),
                                      client, test_store)
    ack.assert_called_once()
    assert outcome == "called back: resolved"
    case = test_store.get_case(case_id)
    assert case is not None and case.status == "closed"
    assert case.resolution == "called back: resolved (agent U1)"
    assert ("out", "Callback outcome: called back: resolved.", ORDERS["in_transit"].number) in (
        interactions(test_store, "phone-abc"))
    updated = client.chat_update.call_args.kwargs
    assert updated["ts"] == "111.222" and "actions" not in str(updated["blocks"])
    assert "<@U1>" in str(updated["blocks"])


def test_no_answer_keeps_the_case_open(test_store: OrderStore) -> None:
    case_id = phone_case(test_store)
    assert log_callback_outcome(test_store, case_id, "phone_callback_no_answer", "U1")
    case = test_store.get_case(case_id)
    assert case is not None and case.status == "open"


def test_junk_clicks_change_nothing(test_store: OrderStore) -> None:
    case_id = phone_case(test_store)
    chat = test_store.open_case(subject="chat", channel="chat", conversation_id="c1")
    client = Mock()
    for body in (click("x1", "phone_callback_resolved", []),
                 click(0, "phone_callback_resolved", []),
                 click(case_id, "phone_callback_other", []),
                 click(chat.id, "phone_callback_resolved", []),
                 click(99999, "phone_callback_resolved", [])):
        assert callback_outcome_button(Mock(), body, client, test_store) is None
    assert not client.chat_update.called
    case = test_store.get_case(case_id)
    assert case is not None and case.status == "open"
