"""What a mail's turn leads to: a reply by mail, a colleague, or nothing.

The mail went through the same NLU and rules as a chat message; this reads what the assistant
did with it (the responses it uttered, the handoff slot) and decides for the e-mail channel:

- reply: it answered with confidence (an order's status, the unknown-order reply, an FAQ answer,
  a knowledge answer with its link, a form's question, a cancellation or return step, the rating
  questions) or the dialogue itself handed the conversation to a person (request_human,
  complaint): the messages are mailed back.
- handoff: anything else. It did not understand (nlu_fallback/out_of_scope without a knowledge
  answer: "did you mean ...?", "please rephrase", a person offered), the core fallback, a
  service that is down, or no reply at all: a case and a Slack thread (reason email_unclear).
- forwarded: the message went to the agent of an active handoff (the agent answers).
- silent: a thank-you or goodbye alone (no mail ping-pong).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

UNCLEAR_RESPONSES = frozenset({
    "utter_ask_rephrase", "utter_kb_rephrase", "utter_kb_not_found", "utter_kb_no_answer",
    "utter_kb_unavailable", "utter_offer_human", "utter_core_fallback",
    "utter_out_of_context_affirm", "utter_out_of_context_deny", "utter_out_of_context_rating",
    "utter_store_unavailable", "utter_action_server_down", "utter_language_unsupported",
    "utter_anything_else",
})
UNCLEAR_PREFIXES = ("utter_clarify_",)
HANDOFF_RESPONSES = frozenset({
    "utter_handoff_started", "utter_handoff_started_offline", "utter_handoff_already_active",
    "utter_handoff_unavailable",
})
COURTESY_RESPONSES = frozenset({"utter_youarewelcome", "utter_goodbye"})
FORWARD_ACTION = "action_forward_to_agent"


@dataclass(frozen=True)
class Turn:
    """What the assistant did with one mail."""

    responses: tuple[str | None, ...]  # utter_action of each bot message (None: plain text)
    actions: tuple[str, ...]  # actions run after the mail, in order
    handoff_active: bool  # the slot after the turn


@dataclass(frozen=True)
class Decision:
    kind: str  # reply | handoff | forwarded | silent
    why: str


def _unclear(name: str | None) -> bool:
    return name is not None and (name in UNCLEAR_RESPONSES or name.startswith(UNCLEAR_PREFIXES))


def decide(turn: Turn) -> Decision:
    responses = [name for name in turn.responses]
    if any(name in HANDOFF_RESPONSES for name in responses):
        return Decision("reply", "the dialogue handed the conversation to a person")
    if FORWARD_ACTION in turn.actions:
        if responses:  # the handoff had ended, or the message did not reach Slack
            return Decision("reply", "the handoff's own notice")
        return Decision("forwarded", "forwarded to the agent of the active handoff")
    if not responses:
        return Decision("handoff", "the assistant gave no answer")
    unclear = [name for name in responses if _unclear(name)]
    if unclear:
        return Decision("handoff", f"the assistant was not sure ({unclear[0]})")
    if all(name in COURTESY_RESPONSES for name in responses):
        return Decision("silent", "a thank-you or goodbye needs no mail")
    return Decision("reply", "answered")


def turn_from_events(events: Sequence[dict[str, object]], responses: Sequence[str | None],
                     handoff_active: bool) -> Turn:
    """The Turn of the latest user message in a tracker's events (dicts, oldest first)."""
    actions: list[str] = []
    for event in reversed(events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action" and event.get("name"):
            actions.append(str(event["name"]))
    return Turn(tuple(responses), tuple(reversed(actions)), handoff_active)
