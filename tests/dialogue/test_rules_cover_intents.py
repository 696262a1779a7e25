"""The rules cover every intent in every situation, and every question the bot asks has rules
that take its answer (data/rules/*.yml, read as YAML; no model is trained).

- during a handoff, every customer intent goes to the agent (data/rules/handoff.yml);
- with no form active, every customer intent has a rule;
- inside each order form, every intent has a rule, except what the form itself takes as its
  answer (its slots' `from_text` intents);
- every value of pending_question that an action sets (actions/*.py, read with ast) has the
  rules that answer it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.constants import DEFAULT_ACTION_NAMES, DEFAULT_INTENTS
from rasa.shared.core.domain import Domain

import actions.common as common

ROOT = Path(__file__).resolve().parents[2]
ORDER_FORMS = ("order_status_form", "cancel_form", "return_form")
# Intents that keep their own meaning whatever the bot asked (their general rules answer them).
ALWAYS_GENERAL = frozenset({"request_human", "change_language"})
# Rasa's default intents that are customers' messages (the others are /restart, /back, ...).
CUSTOMER_DEFAULTS = frozenset({"out_of_scope", "nlu_fallback"})


@dataclass(frozen=True)
class Rule:
    name: str
    file: str
    intents: tuple[str, ...]  # the first step's intent(s); () for a rule that starts otherwise
    actions: tuple[str, ...]
    active_loop: str | None = None  # a form the rule is conditioned on; None for none
    loop_null: bool = False
    slots: dict[str, Any] = field(default_factory=dict)

    @property
    def general(self) -> bool:
        """Applies when no form is active and nothing was asked (no slot conditions)."""
        return self.active_loop is None and not self.slots


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    found: list[Rule] = []
    for path in sorted((ROOT / "data" / "rules").glob("*.yml")):
        for raw in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules") or []:
            loop: str | None = None
            loop_null = False
            slots: dict[str, Any] = {}
            for condition in raw.get("condition") or []:
                if "active_loop" in condition:
                    loop = condition["active_loop"]
                    loop_null = loop is None
                for slot in condition.get("slot_was_set") or []:
                    slots.update(slot if isinstance(slot, dict) else {slot: True})
            steps = raw.get("steps") or []
            first = steps[0] if steps else {}
            if "intent" in first:
                intents: tuple[str, ...] = (str(first["intent"]),)
            elif "or" in first:
                intents = tuple(str(step["intent"]) for step in first["or"] if "intent" in step)
            else:
                intents = ()
            acts = tuple(str(step["action"]) for step in steps if "action" in step)
            found.append(Rule(str(raw.get("rule")), path.name, intents, acts, loop, loop_null,
                              slots))
    return tuple(found)


@lru_cache(maxsize=1)
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain"))


def customer_intents() -> set[str]:
    """Every intent a customer's message can have: the domain's, the FAQ's retrieval intent and
    the NLU fallback; not the Slack app's EXTERNAL_ ones nor Rasa's other defaults."""
    intents = {name for name in domain().intents if not name.startswith("EXTERNAL_")}
    return (intents - (set(DEFAULT_INTENTS) - CUSTOMER_DEFAULTS)) | {"nlu_fallback"}


def rules_for(intent: str) -> Iterator[Rule]:
    return (rule for rule in rules() if intent in rule.intents)


# --- during a handoff ---------------------------------------------------------------------------


def forwarded_intents() -> set[str]:
    return {intent for rule in rules() if rule.file == "handoff.yml"
            and rule.slots.get("handoff_active") is True and rule.actions[:1] == (
                "action_forward_to_agent",) for intent in rule.intents}


def test_every_customer_intent_goes_to_the_agent_during_a_handoff() -> None:
    missing = sorted(customer_intents() - forwarded_intents())
    assert not missing, (
        f"intents without a 'during a handoff ... goes to the agent' rule in "
        f"data/rules/handoff.yml: {missing}")


def test_forwarding_rules_name_known_intents_only() -> None:
    assert forwarded_intents() <= customer_intents()


# --- no form active -----------------------------------------------------------------------------


def test_every_customer_intent_has_a_rule_when_no_form_is_active() -> None:
    missing = sorted(intent for intent in customer_intents()
                     if not any(rule.general for rule in rules_for(intent)))
    assert not missing, f"intents without a rule outside forms (data/rules): {missing}"


# --- inside the order forms ---------------------------------------------------------------------


def answered_by_the_form(form: str) -> set[str]:
    """Intents the form takes as the answer to its question (its slots' from_text mappings)."""
    required = domain().forms[form]["required_slots"]
    taken: set[str] = set()
    for slot in domain().slots:
        if slot.name not in required:
            continue
        for mapping in slot.mappings:
            loops = {c.get("active_loop") for c in mapping.get("conditions") or []}
            if mapping.get("type") == "from_text" and form in loops:
                intent = mapping.get("intent")
                taken.update([intent] if isinstance(intent, str) else intent or [])
    return taken


def test_the_customer_intents() -> None:
    assert {"greet", "inform", "faq", "out_of_scope", "nlu_fallback", "csat_skip"} <= (
        customer_intents())
    assert not {"restart", "session_start", "EXTERNAL_agent_message"} & customer_intents()


def test_the_forms_are_the_order_forms() -> None:
    assert set(domain().forms) == set(ORDER_FORMS)
    assert all(answered_by_the_form(form) == {"inform"} for form in ORDER_FORMS)


@pytest.mark.parametrize("form", ORDER_FORMS)
def test_every_intent_has_a_rule_inside_each_order_form(form: str) -> None:
    missing = sorted(
        intent for intent in customer_intents() - answered_by_the_form(form)
        if not any(rule.active_loop == form for rule in rules_for(intent)))
    assert not missing, f"intents without a rule inside {form} (data/rules): {missing}"


@pytest.mark.parametrize("form", ORDER_FORMS)
def test_each_order_form_has_a_rule_for_its_end(form: str) -> None:
    ends = [rule for rule in rules() if rule.active_loop == form and not rule.intents
            and rule.actions[:1] == (form,)]
    assert len(ends) == 1 and len(ends[0].actions) == 2, [rule.name for rule in ends]


# --- the bot's questions ------------------------------------------------------------------------


def asked_questions() -> dict[str, set[str]]:
    """pending_question values the actions set (ask(X), offer_human), with where."""
    constants = {name: value for name, value in vars(common).items()
                 if name.isupper() and isinstance(value, str)}
    asked: dict[str, set[str]] = {}
    for path in sorted((ROOT / "actions").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            if node.func.id == "offer_human":
                asked.setdefault(common.HUMAN_OFFER, set()).add(path.name)
            elif node.func.id == "ask" and node.args:
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and argument.value is None:
                    continue
                assert isinstance(argument, ast.Name) and argument.id in constants, (
                    f"actions/{path.name}:{node.lineno}: ask() with something other than a "
                    "pending_question constant of actions/common.py")
                asked.setdefault(constants[argument.id], set()).add(path.name)
    return asked


def every_intent_but_the_general_ones() -> set[str]:
    return customer_intents() - ALWAYS_GENERAL


# question -> (intents that need a rule conditioned on it, intents a general rule may answer)
ANSWERS: dict[str, tuple[set[str], set[str]]] = {
    "cancel_confirmation": ({"affirm", "deny"}, set()),
    "kb_helpful": ({"affirm", "deny"}, {"request_human"}),
    "clarify": ({"deny"}, {"check_order_status", "cancel_order", "start_return",
                           "request_human", "complaint", "bot_challenge", "faq"}),
    "kb_rephrase": (set(), {"out_of_scope", "nlu_fallback"}),
    "human_offer": ({"affirm"}, {"deny"}),
    "csat_rating": ({"csat_rating", "inform", "csat_skip", "deny"}, set()),
    "csat_comment": (every_intent_but_the_general_ones(), set()),
    "return_reason": (every_intent_but_the_general_ones(), set()),
}


def test_the_questions_asked_are_the_slots_values() -> None:
    values = {value for slot in domain().slots if slot.name == "pending_question"
              for value in getattr(slot, "values", [])}
    asked = asked_questions()
    assert set(asked) <= values, sorted(set(asked) - values)
    assert set(asked) == set(ANSWERS), (
        f"questions asked by actions {sorted(asked)} vs answered here {sorted(ANSWERS)}")


@pytest.mark.parametrize("question", sorted(ANSWERS))
def test_every_question_has_rules_for_its_answers(question: str) -> None:
    conditioned, general = ANSWERS[question]
    missing = sorted(
        intent for intent in conditioned
        if not any(rule.slots.get("pending_question") == question for rule in rules_for(intent)))
    assert not missing, f"no rule answers {question} for {missing}"
    missing = sorted(intent for intent in general
                     if not any(rule.general or rule.slots.get("pending_question") == question
                                for rule in rules_for(intent)))
    assert not missing, f"no rule answers {question} for {missing}"


def test_a_rephrased_question_is_searched_again() -> None:
    for intent in ANSWERS["kb_rephrase"][1]:
        assert any(rule.general and rule.actions[:1] == ("action_knowledge_search",)
                   for rule in rules_for(intent)), intent


# --- names --------------------------------------------------------------------------------------


def test_rules_name_known_intents_and_actions() -> None:
    known_actions = (set(domain().action_names_or_texts) | set(DEFAULT_ACTION_NAMES)
                     | set(domain().forms) | {"utter_faq"})
    known_intents = set(domain().intents) | {"nlu_fallback"}
    for rule in rules():
        assert set(rule.intents) <= known_intents, (rule.file, rule.name, rule.intents)
        unknown = set(rule.actions) - known_actions
        assert not unknown, (rule.file, rule.name, unknown)
        assert rule.active_loop in (None, *ORDER_FORMS), (rule.file, rule.name)
