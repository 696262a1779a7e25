"""A conversation's outcome and language, once all its events are in (pure, no database).

Outcome, the one place it is decided (containment is the share of bot_resolved):
- a person was asked for: agent_resolved (an agent closed it), handoff_open (not closed yet) or
  handoff_unavailable (nobody could be reached); this comes first;
- abandoned: the customer asked for a task on their order (order status, cancel, return) and
  left before it was finished: "where is my order?" and no number, a failed check, a
  cancellation never confirmed, "never mind". A thanks or an FAQ answered on the way does not
  finish the task;
- bot_resolved: the request was served: a finished task, an FAQ answer, a knowledge answer the
  customer did not reject ("no", or a person asked for right after it), or the customer's thanks;
- unresolved: none of these (the answers did not help, nothing found, or only small talk).
"""

from __future__ import annotations

from collections import Counter

from analytics import mapping
from analytics.fact_model import ConversationFact
from nordvik.languages import DEFAULT_LANGUAGE, normalize_language


def finalise(conversation: ConversationFact) -> None:
    """Knowledge feedback on the questions, the counts, the language and the outcome."""
    for turn in conversation.turns:
        question = turn.after_answer_of
        if question is not None:
            if turn.final_intent == mapping.AFFIRM_INTENT:
                question.kb_feedback = "helpful"
            elif turn.final_intent in (mapping.DENY_INTENT, mapping.REQUEST_HUMAN_INTENT):
                question.kb_feedback = "not_helpful"
    for turn in conversation.turns:
        conversation.fallback_turns += int(turn.fallback)
        conversation.knowledge_answers += int(turn.knowledge == "answered")
        conversation.knowledge_not_found += int(turn.knowledge == "not_found")
        conversation.knowledge_helpful += int(turn.kb_feedback == "helpful")
        conversation.knowledge_not_helpful += int(turn.kb_feedback == "not_helpful")
    conversation.language = language(conversation)
    handoff = conversation.handoff or conversation.inherited_handoff
    if handoff is not None and conversation.handoff is not None and handoff.closed_at is not None:
        conversation.ended_at = max(conversation.ended_at, handoff.closed_at)
    conversation.outcome = outcome(conversation)


def served(conversation: ConversationFact) -> bool:
    """An answer, a finished task or the customer's thanks."""
    if conversation.bot_answers > 0 or conversation.knowledge_helpful > 0 or conversation.thanked:
        return True
    return any(t.knowledge == "answered" and t.kb_feedback != "not_helpful"
               for t in conversation.turns)


def outcome(conversation: ConversationFact) -> str:
    handoff = conversation.handoff or conversation.inherited_handoff
    if handoff is not None:
        if not handoff.connected:
            return mapping.HANDOFF_UNAVAILABLE
        return mapping.AGENT_RESOLVED if handoff.closed_at is not None else mapping.HANDOFF_OPEN
    if conversation.task_open:
        return mapping.ABANDONED
    return mapping.BOT_RESOLVED if served(conversation) else mapping.UNRESOLVED


def language(conversation: ConversationFact) -> str:
    """The language slot when set, else the most frequent message language (ties: the latest)."""
    if conversation._slot_language:
        code = normalize_language(conversation._slot_language)
        if code:
            return code
    counts = Counter(
        code for code in (normalize_language(x) for x in conversation._languages) if code
    )
    if not counts:
        return DEFAULT_LANGUAGE
    top = max(counts.values())
    for raw in reversed(conversation._languages):
        code = normalize_language(raw)
        if code and counts[code] == top:
            return code
    return DEFAULT_LANGUAGE  # pragma: no cover - counts is not empty
