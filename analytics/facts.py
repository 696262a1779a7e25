"""From one customer's events to per-conversation and per-turn facts (pure, no database).

A conversation is one Rasa session of one sender (it starts at `session_started`). The facts are
recomputed from all of a sender's stored events whenever new ones arrive, so the order in which
duplicates or late events arrive does not matter; the events must be in the order Rasa logged
them (the broker's order).

Definitions (names in analytics/mapping.py):
- customer turn: a message the customer sent (not EXTERNAL_* intents from the Slack app). A
  message the bot takes back and logs again with a clarified intent (two-stage fallback, a
  request for a person typed in sv/nb/zh) stays one turn; `intent` is the NLU's first reading,
  `final_intent` the clarified one.
- fallback turn: its intent is a fallback intent, or a fallback action answered it.
- knowledge: `answered` (action_knowledge_search set kb_article_id) or `not_found` (it searched
  and set none). `kb_feedback` on the question's turn: `helpful` when the customer's next
  message is affirm, `not_helpful` for deny or a request for a person, else none.
- handoff: a handoff action ran; `connected` when the handoff_active slot became true (Slack
  reached); the agent's first reply is the first EXTERNAL_agent_message (or relayed message);
  closed at EXTERNAL_handoff_closed / action_handoff_end, or when the slot went back to false.
  An open handoff follows the customer into later sessions.
- task: a message asking for an order status, a cancellation or a return (or its form becoming
  active) opens it; the response that finishes it (mapping.TASK_DONE_RESPONSES) closes it.
- clarification: the bot asked "did you mean ...?" about the message (a clarifying response or
  pending_question "clarify"); `guess` is the NLU's best intent below its fallback.
- outcome: decided in analytics/outcomes.py (handed off, abandoned, resolved by the bot,
  unresolved). Containment is the share of bot_resolved conversations.
- CSAT: asked when csat_form became active; the last csat_rating slot value 1-5 is the rating.
"""

from __future__ import annotations

from collections.abc import Iterable

from analytics import mapping
from analytics.events import EventRecord, slot_value
from analytics.fact_model import (
    RATINGS,
    ConversationFact,
    Handoff,
    TurnFact,
    conversation_id,
    typed_rating,
)
from analytics.outcomes import finalise

__all__ = ["ConversationFact", "Handoff", "TurnFact", "build_facts", "typed_rating"]

class _Builder:
    """Walks one sender's events in order and builds the conversations."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self.conversations: list[ConversationFact] = []
        self.current: ConversationFact | None = None
        self.open_handoff: Handoff | None = None
        self.last_turn: TurnFact | None = None
        self.pending_revert: TurnFact | None = None
        self.last_action: str | None = None
        self.kb_question: TurnFact | None = None      # turn answered from the knowledge base
        self.handoff_block: Handoff | None = None     # handoff requested by the running action
        self.action_ts: float | None = None           # when the running action started
        self.kb_turn: TurnFact | None = None          # the message the running search is for

    # -- conversation boundaries --------------------------------------------------------
    def _start(self, timestamp: float) -> ConversationFact:
        self._end_action_block()
        conversation = ConversationFact(
            conversation_id=conversation_id(self.sender_id, timestamp),
            sender_id=self.sender_id, started_at=timestamp, ended_at=timestamp,
        )
        if self.open_handoff is not None:
            conversation.inherited_handoff = self.open_handoff
        self.conversations.append(conversation)
        self.current = conversation
        self.last_turn = None
        self.pending_revert = None
        self.kb_question = None
        self.last_action = None
        return conversation

    def _conversation(self, timestamp: float) -> ConversationFact:
        return self.current if self.current is not None else self._start(timestamp)

    # -- events -----------------------------------------------------------------------------
    def add(self, event: EventRecord) -> None:
        kind = event.type
        if kind == "session_started":
            self._start(event.timestamp)
            return
        if kind == "action" and event.name == mapping.SESSION_START_ACTION:
            return
        conversation = self._conversation(event.timestamp)
        conversation.ended_at = max(conversation.ended_at, event.timestamp)
        if kind == "user":
            self._user(conversation, event)
        elif kind == "bot":
            self._bot(conversation, event)
        elif kind == "action":
            self._action(conversation, event)
        elif kind == "slot":
            self._slot(conversation, event)
        elif kind == "active_loop":
            if event.name == mapping.CSAT_FORM:
                conversation.csat_asked = True
            elif event.name in mapping.TASK_FORMS:
                conversation.task_open = True
        elif kind == "rewind":
            self.pending_revert = self.last_turn
            if self.last_action == mapping.KNOWLEDGE_SEARCH_ACTION and self.kb_turn is not None:
                # the message was taken back (to be logged again as something else)
                self.kb_turn.knowledge = None
                self.kb_question = None

    def _user(self, conversation: ConversationFact, event: EventRecord) -> None:
        self._end_action_block()
        self.action_ts = None
        intent = event.intent
        if intent == mapping.AGENT_MESSAGE_INTENT:
            self._agent_reply(event.timestamp)
            return
        if intent == mapping.HANDOFF_CLOSED_INTENT:
            self._close_handoff(event.timestamp)
            return
        if intent and intent.startswith(mapping.EXTERNAL_PREFIX):
            return
        revert, self.pending_revert = self.pending_revert, None
        if revert is not None and revert.text == event.text:
            # the same message logged again with the clarified intent
            revert.final_intent = intent
            if event.language and not revert.language:
                revert.language = event.language
            self.last_turn = revert
            self._request(conversation, intent)
            return
        entities = slot_value(event)
        turn = TurnFact(
            conversation_id=conversation.conversation_id, seq=len(conversation.turns) + 1,
            event_key=event.key, timestamp=event.timestamp, text=event.text, intent=intent,
            final_intent=intent, confidence=event.confidence, language=event.language,
            channel=event.channel, fallback=intent in mapping.FALLBACK_INTENTS,
            rating=entities.get(mapping.CSAT_RATING_ENTITY) if isinstance(entities, dict)
            else None, guess=event.guess or intent,
        )
        if self.kb_question is not None:
            turn.after_answer_of = self.kb_question
            self.kb_question = None
        conversation.turns.append(turn)
        conversation.customer_turns += 1
        if conversation.first_intent is None:
            conversation.first_intent = intent
        if conversation.channel == mapping.UNKNOWN and event.channel:
            conversation.channel = event.channel
        if event.language:
            conversation._languages.append(event.language)
        self.last_turn = turn
        self._request(conversation, intent)

    @staticmethod
    def _request(conversation: ConversationFact, intent: str | None) -> None:
        if intent in mapping.TASK_INTENTS:
            conversation.task_open = True
        elif intent == mapping.THANK_INTENT:
            conversation.thanked = True

    def _bot(self, conversation: ConversationFact, event: EventRecord) -> None:
        if self.last_action in mapping.AGENT_RELAY_ACTIONS:
            conversation.agent_messages += 1
            return
        conversation.bot_messages += 1
        if (event.response in mapping.HANDOFF_RESPONSES and self.handoff_block is None
                and self.open_handoff is None):
            self._request_handoff(conversation, self.action_ts or event.timestamp)
        if (event.response in mapping.KNOWLEDGE_ANSWER_RESPONSES
                and self.last_action == mapping.KNOWLEDGE_SEARCH_ACTION):
            self._knowledge_answered(None)
        if event.response in mapping.CSAT_ASK_RESPONSES:
            conversation.csat_asked = True
        if mapping.is_resolving_response(event.response):
            conversation.bot_answers += 1
            if self.last_turn is not None:
                self.last_turn.bot_answered = True
        if event.response in mapping.TASK_DONE_RESPONSES:
            conversation.task_open = False
        if (event.response or "").startswith(mapping.CLARIFY_RESPONSE_PREFIX):
            self._clarified(event.response)

    def _action(self, conversation: ConversationFact, event: EventRecord) -> None:
        self._end_action_block()
        name = event.name or ""
        if name != mapping.LISTEN_ACTION:
            self.last_action = name
            self.action_ts = event.timestamp
        turn = self.last_turn
        if name in mapping.FALLBACK_ACTIONS and turn is not None:
            turn.fallback = True
        if name in mapping.HANDOFF_ACTIONS and self.open_handoff is None:
            self._request_handoff(conversation, event.timestamp)
        elif name in mapping.HANDOFF_END_ACTIONS:
            self._close_handoff(event.timestamp)
        elif name in mapping.AGENT_RELAY_ACTIONS:
            self._agent_reply(event.timestamp)
        elif name == mapping.KNOWLEDGE_SEARCH_ACTION and turn is not None:
            # the search ran for this message: nothing found unless an answer follows
            self.kb_turn = turn
            turn.knowledge, turn.article_id = "not_found", None
        elif name in mapping.CSAT_ASK_ACTIONS:
            conversation.csat_asked = True
        elif name == mapping.CSAT_SUBMIT_ACTION and turn is not None:
            self._csat_answer(conversation, turn)

    def _slot(self, conversation: ConversationFact, event: EventRecord) -> None:
        name = event.name
        value = slot_value(event)
        if name in mapping.LANGUAGE_SLOTS and isinstance(value, str) and value:
            rank = mapping.LANGUAGE_SLOTS.index(name)
            if rank <= conversation._slot_language_rank:
                conversation._slot_language = value
                conversation._slot_language_rank = rank
        elif (name == mapping.KB_ARTICLE_SLOT
              and self.last_action == mapping.KNOWLEDGE_SEARCH_ACTION):
            if value:
                self._knowledge_answered(str(value))
        elif (name == mapping.KB_OFFERED_HUMAN_SLOT and value is True
              and self.last_action == mapping.KNOWLEDGE_SEARCH_ACTION
              and self.last_turn is not None and self.last_turn.knowledge == "not_found"):
            # a rephrased question not understood: a person was offered, nothing was searched
            self.last_turn.knowledge = None
        elif name == mapping.HANDOFF_ACTIVE_SLOT:
            if value is True and self.handoff_block is not None:
                self.handoff_block.connected = True
            elif (value is True and self.open_handoff is None
                  and conversation.customer_turns > 0):
                # a handoff logged without a handoff action (the e-mail channel writes its
                # slots and response itself); not a value carried into a new session
                self._request_handoff(conversation, self.action_ts or event.timestamp)
                if self.handoff_block is not None:
                    self.handoff_block.connected = True
            elif value is False and self.handoff_block is None:
                self._close_handoff(event.timestamp)
        elif name == mapping.HANDOFF_CASE_SLOT and self.handoff_block is not None:
            if isinstance(value, (int, float)):
                self.handoff_block.case_id = int(value)
        elif name == mapping.PENDING_QUESTION_SLOT and value == mapping.CLARIFY_PENDING:
            self._clarified(None)
        elif name == mapping.CSAT_RATING_SLOT:
            if isinstance(value, str) and value.strip() in RATINGS:
                conversation.csat_rating = int(value.strip())
                conversation.csat_skipped = False
            elif value == mapping.CSAT_SKIPPED_VALUE and conversation.csat_rating is None:
                conversation.csat_skipped = True

    # -- knowledge, clarification and CSAT -------------------------------------------------
    def _clarified(self, response: str | None) -> None:
        """The bot asked "did you mean ...?" about the last message; a single-guess response
        names the guess (mapping.clarify_guess)."""
        turn = self.last_turn
        if turn is None:
            return
        turn.clarified = True
        guess = mapping.clarify_guess(response) if response else None
        if guess:
            turn.guess = guess

    def _knowledge_answered(self, article_id: str | None) -> None:
        turn = self.kb_turn
        if turn is None:
            return
        turn.knowledge = "answered"
        turn.article_id = article_id or turn.article_id
        self.kb_question = turn

    @staticmethod
    def _csat_answer(conversation: ConversationFact, turn: TurnFact) -> None:
        """action_submit_csat: the customer's message before it is the answer to the rating."""
        conversation.csat_asked = True
        if turn.final_intent in mapping.CSAT_SKIP_INTENTS:
            if conversation.csat_rating is None:
                conversation.csat_skipped = True
            return
        rating = turn.rating if turn.rating in RATINGS else None
        score = int(rating) if rating else typed_rating(turn.text)
        if score is not None:
            conversation.csat_rating = score
            conversation.csat_skipped = False

    # -- handoffs -----------------------------------------------------------------------
    def _request_handoff(self, conversation: ConversationFact, timestamp: float) -> None:
        turn = self.last_turn
        handoff = Handoff(requested_at=timestamp,
                          reason=turn.final_intent if turn is not None else None)
        conversation.handoffs.append(handoff)
        self.handoff_block = handoff
        self.open_handoff = handoff

    def _end_action_block(self) -> None:
        block, self.handoff_block = self.handoff_block, None
        if block is not None and not block.connected and self.open_handoff is block:
            # no person could be reached: the case was closed at once
            self.open_handoff = None

    def _agent_reply(self, timestamp: float) -> None:
        handoff = self.open_handoff
        if handoff is not None and handoff.first_reply_at is None:
            handoff.first_reply_at = timestamp
        if self.current is not None and handoff is not None:
            self.current.ended_at = max(self.current.ended_at, timestamp)

    def _close_handoff(self, timestamp: float) -> None:
        handoff = self.open_handoff
        if handoff is not None and handoff.connected and handoff.closed_at is None:
            handoff.closed_at = timestamp
        self.open_handoff = None

    def finish(self) -> list[ConversationFact]:
        self._end_action_block()
        done = [c for c in self.conversations if c.customer_turns > 0]
        for conversation in done:
            finalise(conversation)
        return done


def build_facts(sender_id: str, events: Iterable[EventRecord]) -> list[ConversationFact]:
    """The conversations (with their turns) of one sender, from its events in logged order."""
    builder = _Builder(sender_id)
    for event in events:
        builder.add(event)
    return builder.finish()
