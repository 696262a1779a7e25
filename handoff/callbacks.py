"""Phone callbacks as agents see them: the callback card in the handoff thread, and logging the
call's outcome from its buttons. Shared by the phone channel (voice/, which posts the card) and
the Slack app (bot/, whose listener logs the outcome); agent-facing English, like every post.

    callback_blocks(case_id, phone, language, order_number) -> Block Kit blocks
    log_callback_outcome(store, case_id, action_id, agent) -> the outcome's words, or None

An outcome is one of CALLBACK_OUTCOMES (button action ids with the prefix
CALLBACK_ACTION_PREFIX): it is recorded on the case's conversation as an interaction on channel
`phone`, and the case is closed with it, except "no answer", which keeps the case open for
another try.
"""

from __future__ import annotations

from typing import Any

from handoff.relay import language_label

CALLBACK_ACTION_PREFIX = "phone_callback_"
CALLBACK_OUTCOMES = {
    "phone_callback_resolved": "called back: resolved",
    "phone_callback_follow_up": "called back: needs a follow-up",
    "phone_callback_no_answer": "called back: no answer",
}
KEEPS_CASE_OPEN = frozenset({"phone_callback_no_answer"})


def callback_blocks(case_id: int, phone: str | None, language: str,
                    order_number: str | None) -> list[dict[str, Any]]:
    """The callback card: who to call, in which language, about which order; outcome buttons."""
    who = phone or "a withheld number (no callback possible)"
    order = order_number or "none verified"
    text = (f":telephone_receiver: *Callback requested* (case #{case_id}): call {who} back in "
            f"{language_label(language)}. Verified order: {order}. Log the call's outcome below.")
    buttons = [
        {"type": "button", "action_id": action_id, "value": str(case_id),
         "text": {"type": "plain_text", "text": words.capitalize()},
         **({"style": "primary"} if action_id == "phone_callback_resolved" else {})}
        for action_id, words in CALLBACK_OUTCOMES.items()
    ]
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "block_id": f"phone_callback_{case_id}", "elements": buttons}]


def logged_blocks(blocks: list[dict[str, Any]], outcome: str, agent: str) -> list[dict[str, Any]]:
    """The card once an outcome is logged: the buttons give way to who logged what."""
    kept = [block for block in blocks if block.get("type") != "actions"]
    return [*kept, {"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Call outcome logged by <@{agent}>: {outcome}."}]}]


def log_callback_outcome(store: Any, case_id: int, action_id: str, agent: str) -> str | None:
    """Record the outcome on the case (StoreError propagates); None for an unknown button or
    case, or a case that is not a phone case."""
    outcome = CALLBACK_OUTCOMES.get(action_id)
    case = store.get_case(case_id) if outcome else None
    if outcome is None or case is None or case.channel != "phone" or not case.conversation_id:
        return None
    store.record_interaction(conversation_id=case.conversation_id, channel="phone",
                             direction="out", text=f"Callback outcome: {outcome}.",
                             customer_id=case.customer_id, order_number=case.order_number)
    if action_id not in KEEPS_CASE_OPEN:
        store.close_case(case_id, f"{outcome} (agent {agent})")
    return outcome
