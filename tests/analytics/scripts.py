"""Crafted conversations: the broker events Rasa 3.6 publishes for known dialogues.

The sequences follow what the real server logs (action_session_start, session_started,
action_listen, user with parse_data and input_channel, action_extract_slots, the action, its
bot messages and slot events, in that order). `Script` keeps a clock so that durations are
exact; each helper is one step of a dialogue in data/rules.
"""

from __future__ import annotations

from typing import Any


class Script:
    def __init__(self, sender: str, start: float, channel: str = "rest") -> None:
        self.sender = sender
        self.t = start
        self.channel = channel
        self.events: list[dict[str, Any]] = []

    # -- raw events ---------------------------------------------------------------------
    def add(self, event: str, dt: float = 0.01, **fields: Any) -> dict[str, Any]:
        self.t += dt
        raw = {"sender_id": self.sender, "event": event, "timestamp": self.t, **fields}
        self.events.append(raw)
        return raw

    def action(self, name: str, dt: float = 0.01) -> Script:
        self.add("action", dt, name=name, policy="RulePolicy", confidence=1.0)
        return self

    def bot(self, response: str | None, text: str, dt: float = 0.01) -> Script:
        self.add("bot", dt, text=text, data={}, metadata={"utter_action": response}
                 if response else {})
        return self

    def slot(self, name: str, value: Any, dt: float = 0.001) -> Script:
        self.add("slot", dt, name=name, value=value)
        return self

    def loop(self, name: str | None) -> Script:
        self.add("active_loop", 0.001, name=name)
        return self

    def listen(self) -> Script:
        return self.action("action_listen")

    def session(self) -> Script:
        self.action("action_session_start", dt=0.0)
        self.add("session_started", 0.001)
        return self.listen()

    def user(self, text: str, intent: str, *, dt: float = 5.0, confidence: float = 0.95,
             language: str | None = "en", entities: list[dict[str, Any]] | None = None) -> Script:
        parse_data: dict[str, Any] = {
            "text": text, "intent": {"name": intent, "confidence": confidence},
            "entities": entities or [], "intent_ranking": [{"name": intent,
                                                            "confidence": confidence}],
        }
        if language:
            parse_data["language"] = language
        self.add("user", dt, text=text, parse_data=parse_data, input_channel=self.channel,
                 message_id=f"m{len(self.events)}")
        self.action("action_extract_slots")
        return self

    def external(self, intent: str, text: str = "", dt: float = 60.0) -> Script:
        entities = [{"entity": "agent_message", "value": text}] if text else []
        self.add("user", dt, text=f"EXTERNAL: {intent}",
                 parse_data={"intent": {"name": intent, "confidence": 1.0},
                             "entities": entities, "text": f"EXTERNAL: {intent}"},
                 input_channel=self.channel)
        return self

    # -- dialogue steps -----------------------------------------------------------------
    def greet(self) -> Script:
        self.user("hi", "greet")
        return self.action("utter_greet").bot("utter_greet", "Hi, welcome!").listen()

    def faq(self, text: str, topic: str, language: str = "en") -> Script:
        self.user(text, "faq", language=language)
        return self.action("utter_faq").bot(f"utter_faq/{topic}", f"About {topic}.").listen()

    def order_status(self, number: str = "A10001", email: str = "anna@example.com") -> Script:
        self.user("where is my order?", "check_order_status")
        self.action("order_status_form").loop("order_status_form")
        self.slot("requested_slot", "order_number").bot("utter_ask_order_number", "Number?")
        self.listen()
        self.user(number, "inform", entities=[{"entity": "order_number", "value": number}])
        self.slot("order_number", number).action("order_status_form")
        self.slot("requested_slot", "email").bot("utter_ask_email", "E-mail?").listen()
        self.user(f"it's {email}", "inform")
        self.slot("email", email).action("order_status_form").loop(None)
        self.slot("requested_slot", None).action("action_check_order_status")
        self.bot("utter_order_in_transit", f"Order {number} is on its way.")
        self.slot("verified_order", number).slot("csat_due", True)
        return self.listen()

    def ask_csat(self) -> Script:
        self.action("action_ask_csat").bot("utter_ask_csat_rating", "How happy are you? 1-5")
        self.slot("pending_question", "csat_rating")
        return self.listen()

    def csat(self, rating: int | None) -> Script:
        """thank -> the rating question -> a button (None: skip) -> no comment."""
        self.user("thanks", "thank")
        self.ask_csat()
        if rating is None:
            self.user("/csat_skip", "csat_skip")
            self.action("action_submit_csat").slot("csat_due", False)
            return self.bot("utter_csat_skipped", "No problem.").listen()
        self.user(f'/csat_rating{{"csat_rating": "{rating}"}}', "csat_rating",
                  entities=[{"entity": "csat_rating", "value": str(rating)}])
        return self._after_rating()

    def _after_rating(self) -> Script:
        self.action("action_submit_csat").slot("csat_due", False).slot("csat_case_id", None)
        self.action("action_ask_csat_comment").bot("utter_ask_csat_comment", "Anything to add?")
        self.slot("pending_question", "csat_comment").listen()
        self.user("/csat_skip", "csat_skip")
        self.action("action_csat_comment").bot("utter_csat_thanks", "Thanks!")
        return self.listen()

    def typed_rating(self, typed: str) -> Script:
        """A rating typed while the bot asks for one (after a closed handoff)."""
        self.user(typed, "csat_rating")
        return self._after_rating()

    def knowledge(self, text: str, article: str | None, language: str = "en", *,
                  offer_person: bool = False) -> Script:
        """nlu_fallback -> action_knowledge_search -> an answer, or a request to rephrase (or,
        for a rephrased question, a person offered)."""
        self.user(text, "nlu_fallback", language=language, confidence=0.2)
        self.action("action_knowledge_search")
        if article:
            self.bot("utter_kb_answer", f"This article might help: {article}")
            self.bot("utter_kb_helped", "Did that help?")
            self.slot("kb_article_id", article).slot("pending_question", "kb_helpful")
        elif offer_person:
            self.bot("utter_offer_human", "Would you like a colleague?")
            self.slot("pending_question", "human_offer").slot("offer_reason", "not_understood")
        else:
            self.bot("utter_ask_rephrase", "Could you put it another way?")
            self.slot("pending_question", "kb_rephrase")
        return self.listen()

    def kb_feedback(self, helped: bool, language: str = "en") -> Script:
        self.user("yes" if helped else "no", "affirm" if helped else "deny", language=language)
        if helped:
            self.action("utter_kb_glad").bot("utter_kb_glad", "Glad that helped!")
            return self.slot("pending_question", None).listen()
        self.action("action_knowledge_feedback").bot("utter_kb_rephrase", "Put it another way?")
        return self.slot("kb_article_id", None).slot("pending_question", "kb_rephrase").listen()

    def handoff(self, *, connected: bool, text: str = "I want to talk to a person",
                case_id: int = 7, intent: str = "request_human", typed: bool = True) -> Script:
        if typed:
            self.user(text, intent)
        self.action("action_handoff_to_human")
        if connected:
            self.bot("utter_handoff_started", f"I've passed our conversation on (case #{case_id})")
            self.loop(None).slot("requested_slot", None)
            self.slot("handoff_active", True).slot("handoff_case_id", float(case_id))
        else:
            self.bot("utter_handoff_unavailable", "I can't reach a colleague right now.")
            self.loop(None).slot("requested_slot", None)
        return self.listen()

    def agent_reply(self, text: str, dt: float) -> Script:
        self.external("EXTERNAL_agent_message", text, dt=dt)
        self.action("action_relay_agent_message").bot(None, text)
        return self.listen()

    def agent_close(self, dt: float, case_id: int = 7) -> Script:
        self.external("EXTERNAL_handoff_closed", dt=dt)
        self.action("action_handoff_end").bot("utter_handoff_ended", "Your colleague has ended")
        self.slot("handoff_active", False).slot("handoff_case_id", None)
        self.slot("csat_case_id", float(case_id))
        return self.ask_csat()

    def goodbye(self) -> Script:
        self.user("bye", "goodbye")
        return self.action("utter_goodbye").bot("utter_goodbye", "Bye!").listen()
