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
        self.bot("utter_order_status", f"Order {number} is in transit.")
        self.slot("verified_order", number)
        return self.listen()

    def csat(self, rating: int | None) -> Script:
        """thank -> csat_form -> a rating (None: skip) -> no comment -> action_submit_csat."""
        self.user("thanks", "thank")
        self.action("csat_form").loop("csat_form").slot("requested_slot", "csat_rating")
        self.bot(None, "How happy are you? 1-5").listen()
        if rating is None:
            self.user("/csat_skip", "csat_skip")
            self.action("csat_form").slot("csat_rating", "skipped").slot("csat_comment", "skipped")
        else:
            self.user(f'/csat_rating{{"csat_rating": "{rating}"}}', "csat_rating",
                      entities=[{"entity": "csat_rating", "value": str(rating)}])
            self.slot("csat_rating", str(rating)).action("csat_form")
            self.slot("requested_slot", "csat_comment").bot(None, "Anything to add?").listen()
            self.user("/csat_skip", "csat_skip")
            self.action("csat_form").slot("csat_comment", "skipped")
        self.loop(None).slot("requested_slot", None).action("action_submit_csat")
        self.bot("utter_csat_thanks", "Thanks!")
        self.slot("csat_rating", None).slot("csat_comment", None).slot("csat_due", False)
        return self.listen()

    def knowledge(self, text: str, article: str | None, language: str = "en") -> Script:
        """nlu_fallback -> action_knowledge_search -> an answer (or nothing: two-stage)."""
        self.user(text, "nlu_fallback", language=language, confidence=0.2)
        self.action("action_knowledge_search")
        if article:
            self.bot(None, f"This article might help: {article}").bot(None, "Did that help?")
        self.slot("customer_language", language)
        self.slot("kb_article_id", article).slot("kb_declined", False)
        self.slot("kb_offered_human", False)
        if article is None:
            self.add("followup", 0.001, name="action_two_stage_fallback")
            self.action("action_two_stage_fallback").bot(None, "Is your question about ...?")
            self.loop("action_two_stage_fallback")
        return self.listen()

    def kb_feedback(self, helped: bool, language: str = "en") -> Script:
        self.user("yes" if helped else "no", "affirm" if helped else "deny", language=language)
        self.action("action_knowledge_feedback")
        self.bot(None, "Glad that helped!" if helped else "Sorry, put it another way?")
        self.slot("kb_article_id", None).slot("kb_declined", not helped)
        self.slot("kb_offered_human", False)
        return self.listen()

    def handoff(self, *, connected: bool, text: str = "I want to talk to a person",
                case_id: int = 7, intent: str = "request_human") -> Script:
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
        self.action("csat_form").loop("csat_form").slot("requested_slot", "csat_rating")
        self.bot(None, "How happy are you? 1-5")
        return self.listen()

    def rate_open_form(self, rating: int) -> Script:
        """A rating while csat_form is already active (after a closed handoff)."""
        self.user(str(rating), "csat_rating")
        self.slot("csat_rating", str(rating)).action("csat_form")
        self.slot("requested_slot", "csat_comment").bot(None, "Anything to add?").listen()
        self.user("/csat_skip", "csat_skip")
        self.action("csat_form").slot("csat_comment", "skipped").loop(None)
        self.slot("requested_slot", None).action("action_submit_csat")
        self.bot("utter_csat_thanks", "Thanks!").slot("csat_rating", None)
        return self.listen()

    def goodbye(self) -> Script:
        self.user("bye", "goodbye")
        return self.action("utter_goodbye").bot("utter_goodbye", "Bye!").listen()
