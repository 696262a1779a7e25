"""While a handoff is active, every customer intent must go to the agent, none to the bot."""

from __future__ import annotations

from pathlib import Path

import yaml
from rasa.shared.core.constants import DEFAULT_INTENTS
from rasa.shared.core.domain import Domain

ROOT = Path(__file__).resolve().parents[2]


def forwarded_intents() -> set[str]:
    rules = yaml.safe_load((ROOT / "data" / "rules" / "handoff.yml").read_text())["rules"]
    found: set[str] = set()
    for rule in rules:
        slots = [slot for c in rule.get("condition") or [] for slot in c.get("slot_was_set", [])]
        steps = rule["steps"]
        if {"handoff_active": True} in slots and steps[-1] == {
                "action": "action_forward_to_agent"}:
            locked = {slot["verification_locked"] for slot in slots
                      if "verification_locked" in slot}
            if locked == {False} or locked == {True}:
                found.add(f"{steps[0]['intent']}|{locked.pop()}")
    return found


def forwarded_in_both_states() -> set[str]:
    """Intents forwarded whether or not order look-ups are locked."""
    pairs = forwarded_intents()
    return {key.split("|")[0] for key in pairs
            if {f"{key.split('|')[0]}|True", f"{key.split('|')[0]}|False"} <= pairs}


def test_every_customer_intent_is_forwarded_during_a_handoff() -> None:
    domain = Domain.load(str(ROOT / "domain"))
    customer_intents = {i for i in domain.intents if not i.startswith("EXTERNAL_")}
    # Rasa's defaults are not customer messages here, except the fallback intent.
    customer_intents -= set(DEFAULT_INTENTS) - {"nlu_fallback"}
    missing = sorted(customer_intents - forwarded_in_both_states())
    assert not missing, (
        f"intents without a 'during a handoff ... goes to the agent' rule in "
        f"data/rules/handoff.yml: {missing}"
    )


def test_no_forwarding_rule_names_an_unknown_intent() -> None:
    domain = Domain.load(str(ROOT / "domain"))
    assert forwarded_in_both_states() <= set(domain.intents)
