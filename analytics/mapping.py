"""The one table that maps the assistant's names to what analytics counts.

The dialogue is reworked while the analytics run, so the facts key only on names that are
stable (intents, actions, slots and responses listed here). When the dialogue renames one,
change it here and nowhere else.
"""

from __future__ import annotations

# --- customer messages --------------------------------------------------------------------
# Intents that mean "not understood" (a fallback turn).
NLU_FALLBACK_INTENT = "nlu_fallback"
FALLBACK_INTENTS = frozenset({NLU_FALLBACK_INTENT, "out_of_scope"})
FAQ_INTENT = "faq"
# Intents that are not customer messages: sent by the Slack app through trigger_intent.
AGENT_MESSAGE_INTENT = "EXTERNAL_agent_message"
HANDOFF_CLOSED_INTENT = "EXTERNAL_handoff_closed"
EXTERNAL_PREFIX = "EXTERNAL_"
AGENT_MESSAGE_ENTITY = "agent_message"
AFFIRM_INTENT = "affirm"
DENY_INTENT = "deny"
REQUEST_HUMAN_INTENT = "request_human"
# The customer's thanks: the request counts as served (unless a task was left half done).
THANK_INTENT = "thank"
# Requests for a task on the customer's own order; the task is open until TASK_DONE_RESPONSES.
TASK_INTENTS = frozenset({"check_order_status", "cancel_order", "start_return"})
# Their forms: a form that becomes active opens the task too ("A10001" alone starts a check).
TASK_FORMS = frozenset({"order_status_form", "cancel_form", "return_form"})
# Intents of the rating question: not messages to review.
CSAT_INTENTS = frozenset({"csat_rating", "csat_skip"})

# --- bot actions ---------------------------------------------------------------------------
# Actions that mean "the bot did not understand" (a fallback, counted on the turn they answer).
FALLBACK_ACTIONS = frozenset({
    "action_core_fallback",
    "action_default_fallback",
    "action_two_stage_fallback",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
})
# Actions that hand the conversation to a person.
HANDOFF_ACTIONS = frozenset({"action_handoff_to_human", "action_default_fallback"})
# Responses that say a handoff started (or that no person could be reached). They also mark a
# handoff when Rasa runs the handoff inside another action: the two-stage fallback gives up by
# running action_default_fallback's events under its own name.
HANDOFF_RESPONSES = frozenset({"utter_handoff_started", "utter_handoff_started_offline",
                               "utter_handoff_unavailable"})
# The agent ended the handoff (the bot's side of EXTERNAL_handoff_closed).
HANDOFF_END_ACTIONS = frozenset({"action_handoff_end"})
# The agent's reply said in the customer's chat.
AGENT_RELAY_ACTIONS = frozenset({"action_relay_agent_message"})
KNOWLEDGE_SEARCH_ACTION = "action_knowledge_search"
KNOWLEDGE_FEEDBACK_ACTION = "action_knowledge_feedback"
# The knowledge search's answer (a passage from an article). Without it the search found nothing.
KNOWLEDGE_ANSWER_RESPONSES = frozenset({"utter_kb_answer"})
# CSAT: the rating is asked (an action, a response or the older csat_form), then answered: the
# customer's message before CSAT_SUBMIT_ACTION holds it (button entity or typed).
CSAT_ASK_ACTIONS = frozenset({"action_ask_csat"})
CSAT_ASK_RESPONSES = frozenset({"utter_ask_csat_rating"})
CSAT_FORM = "csat_form"
CSAT_SUBMIT_ACTION = "action_submit_csat"
CSAT_RATING_ENTITY = "csat_rating"
CSAT_SKIP_INTENTS = frozenset({"csat_skip", "deny"})
SESSION_START_ACTION = "action_session_start"
LISTEN_ACTION = "action_listen"

# --- slots ---------------------------------------------------------------------------------
# The conversation's language, first match wins: the lead's `language` slot, then the one the
# knowledge fallback sets. parse_data["language"] (nlu.reading) is the per-message value.
LANGUAGE_SLOTS = ("language", "customer_language")
KB_ARTICLE_SLOT = "kb_article_id"
KB_OFFERED_HUMAN_SLOT = "kb_offered_human"
HANDOFF_ACTIVE_SLOT = "handoff_active"
HANDOFF_CASE_SLOT = "handoff_case_id"
CSAT_RATING_SLOT = "csat_rating"
CSAT_SKIPPED_VALUE = "skipped"
# The bot asked "did you mean ...?": its responses start with this, and it sets
# pending_question to CLARIFY_PENDING.
CLARIFY_RESPONSE_PREFIX = "utter_clarify_"
# Clarifying responses that name no single guess (two close guesses, a button each; the
# buttons' labels): the message's guess stays the NLU's best.
CLARIFY_MANY_RESPONSES = frozenset({"utter_clarify_two"})
CLARIFY_LABEL_PREFIX = "utter_clarify_label_"
PENDING_QUESTION_SLOT = "pending_question"
CLARIFY_PENDING = "clarify"
# Only these slots' values are kept by analytics (others may hold e-mails or order numbers).
KEPT_SLOTS = frozenset({
    *LANGUAGE_SLOTS, KB_ARTICLE_SLOT, "kb_declined", KB_OFFERED_HUMAN_SLOT, HANDOFF_ACTIVE_SLOT,
    HANDOFF_CASE_SLOT, CSAT_RATING_SLOT, "csat_case_id", "csat_due", "verification_locked",
    "requested_slot", "pending_question",
})
# Entities of customer messages whose values are kept (never order numbers or e-mails).
KEPT_ENTITIES = frozenset({"csat_rating"})

# --- resolution ----------------------------------------------------------------------------
# Bot responses that finish a task: the order's status shown, the cancellation or return done
# (or refused with its reason). A task asked for and not finished is an abandoned request.
TASK_DONE_RESPONSES = frozenset({
    # the order's status, one response per status
    "utter_order_pending", "utter_order_paid", "utter_order_packed", "utter_order_shipped",
    "utter_order_in_transit", "utter_order_delayed", "utter_order_delivered",
    "utter_order_delivered_return_closed", "utter_order_cancelled_status",
    "utter_order_returned", "utter_order_refunded",
    # cancelling and returning
    "utter_order_cancelled", "utter_order_already_cancelled", "utter_order_not_cancellable",
    "utter_order_not_cancellable_finished", "utter_cancel_kept",
    "utter_return_started", "utter_return_already_open", "utter_return_not_delivered",
    "utter_return_window_closed",
    # earlier names of the same answers
    "utter_order_status", "utter_order_not_shipped_yet",
})
# Bot responses after which the customer's question counts as answered by the bot: a finished
# task, or "yes, that helped" after a knowledge answer.
RESOLVING_RESPONSES = TASK_DONE_RESPONSES | {"utter_kb_glad"}
# Responses starting with these prefixes answer too (the FAQ: utter_faq/<topic>).
RESOLVING_RESPONSE_PREFIXES = ("utter_faq",)
# A knowledge answer resolves when the customer says it helped (affirm after the answer).

# --- channels ------------------------------------------------------------------------------
# Rasa's input channel names as shown to people; unknown names are shown as they are.
CHANNEL_LABELS = {
    "socketio": "web chat",
    "rest": "REST",
    "email": "e-mail",
    "phone": "phone",
    "whatsapp": "WhatsApp",
    "messenger": "Messenger",
    "line": "LINE",
    "slack": "Slack",
    "cmdline": "command line",
}
UNKNOWN = "unknown"

# --- outcomes of a conversation ------------------------------------------------------------
BOT_RESOLVED = "bot_resolved"          # answered by the bot, no person involved (containment)
AGENT_RESOLVED = "agent_resolved"      # handed off and closed by an agent
HANDOFF_OPEN = "handoff_open"          # handed off, not closed (yet)
HANDOFF_UNAVAILABLE = "handoff_unavailable"  # a person was asked for but none could be reached
ABANDONED = "abandoned"                # left with a task asked for and not finished, no person
UNRESOLVED = "unresolved"              # no answer and no person (the answers did not help, or
                                       # only small talk)
OUTCOMES = (BOT_RESOLVED, AGENT_RESOLVED, HANDOFF_OPEN, HANDOFF_UNAVAILABLE, ABANDONED,
            UNRESOLVED)


def is_resolving_response(name: str | None) -> bool:
    if not name:
        return False
    return name in RESOLVING_RESPONSES or name.startswith(RESOLVING_RESPONSE_PREFIXES)


def clarify_guess(response: str) -> str | None:
    """The intent a single-guess clarifying response names: utter_clarify_faq_<topic> is
    faq/<topic>, utter_clarify_<intent> the intent; None for any other response."""
    if (not response.startswith(CLARIFY_RESPONSE_PREFIX) or response in CLARIFY_MANY_RESPONSES
            or response.startswith(CLARIFY_LABEL_PREFIX)):
        return None
    guess = response[len(CLARIFY_RESPONSE_PREFIX):]
    return f"{FAQ_INTENT}/{guess[4:]}" if guess.startswith(f"{FAQ_INTENT}_") else guess


def channel_label(name: str) -> str:
    return CHANNEL_LABELS.get(name, name)
