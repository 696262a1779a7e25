"""The actions hold no customer-facing sentences: they utter catalogue responses by name.

Read from the source with `ast`, every module of actions/:
- `utter_message` gets no text, buttons or other content written in the code: no `text=` with a
  string literal or f-string anywhere, and `text=<variable>` only in actions/handoff.py's agent
  relay (the agent's own words);
- no string of 4 or more words (or 4 or more Chinese characters) outside docstrings, logger
  calls, exception messages and regular expressions. Two kinds of internal English are allowed,
  by where they go rather than what they say: `answer` (the one-line CRM history for agents, the
  `answer=` of record_turn) and `doing` (an action's log fragment).
The rule itself is tested on small examples first.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACTIONS = sorted((ROOT / "actions").glob("*.py"))
MIN_WORDS = 4
MIN_HAN = 4
LOGGER_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception",
                            "critical", "log"})
CONTENT_KEYWORDS = frozenset({"text", "buttons", "elements", "json_message", "custom", "image",
                              "attachment", "template"})
INTERNAL_TARGETS = {"answer": "the CRM history line for agents",
                    "doing": "an action's log fragment"}
# (module, class) where `utter_message(text=<variable>)` says someone else's words
RELAYS = {("handoff.py", "ActionRelayAgentMessage")}
_WORD = re.compile(r"[^\W\d_]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Finding:
    module: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"actions/{self.module}:{self.line}: {self.what}"


def _is_logger_call(node: ast.Call) -> bool:
    func = node.func
    if not isinstance(func, ast.Attribute) or func.attr not in LOGGER_METHODS:
        return False
    owner = func.value
    name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
    return "log" in str(name).lower()


def _is_regex_call(node: ast.Call) -> bool:
    func = node.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and (
        func.value.id == "re")


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def _exempt(tree: ast.AST) -> set[int]:
    """ids of every node inside a docstring, a logger call, a raise, a regex or an internal
    target's value."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        logged = isinstance(node, ast.Call) and (_is_logger_call(node) or _is_regex_call(node))
        if logged or isinstance(node, ast.Raise):
            roots.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in INTERNAL_TARGETS for t in targets):
                roots.append(node)
        elif isinstance(node, ast.keyword) and node.arg in INTERNAL_TARGETS:
            roots.append(node)
    exempt = _docstrings(tree)
    for root in roots:
        exempt.update(id(child) for child in ast.walk(root))
    return exempt


def _sentence(text: str) -> bool:
    words = [token for token in text.split() if _WORD.search(token)]
    return len(words) >= MIN_WORDS or len(_HAN.findall(text)) >= MIN_HAN


def _joined_text(node: ast.JoinedStr) -> str:
    return "".join(part.value if isinstance(part, ast.Constant) and isinstance(part.value, str)
                   else "X" for part in node.values)


def _has_written_text(node: ast.AST) -> bool:
    return any((isinstance(child, ast.Constant) and isinstance(child.value, str))
               or isinstance(child, ast.JoinedStr) for child in ast.walk(node))


def findings(source: str, module: str) -> list[Finding]:
    tree = ast.parse(source)
    exempt = _exempt(tree)
    found: list[Finding] = []
    inside: dict[int, str] = {}
    for cls in ast.walk(tree):
        if isinstance(cls, ast.ClassDef):
            for child in ast.walk(cls):
                inside.setdefault(id(child), cls.name)
    in_fstring: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            in_fstring.update(id(part) for part in ast.walk(node) if part is not node)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "utter_message":
            if node.args:
                found.append(Finding(module, node.lineno, "utter_message with a positional text"))
            for keyword in node.keywords:
                if keyword.arg not in CONTENT_KEYWORDS:
                    continue
                relay = (module, inside.get(id(node), "")) in RELAYS
                if keyword.arg != "text" or not relay or _has_written_text(keyword.value):
                    found.append(Finding(module, node.lineno,
                                         f"utter_message({keyword.arg}=...) in the code"))
        if id(node) in exempt or id(node) in in_fstring:
            continue
        if isinstance(node, ast.JoinedStr) and _sentence(_joined_text(node)):
            found.append(Finding(module, node.lineno, f"f-string {_joined_text(node)!r}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and _sentence(node.value):
            found.append(Finding(module, node.lineno, f"string {node.value!r}"))
    return found


# --- the rule, on examples ----------------------------------------------------------------------

FLAGGED = {
    "text literal": 'dispatcher.utter_message(text="Hello")',
    "text f-string": 'dispatcher.utter_message(text=f"Order {number}")',
    "text concatenated": 'dispatcher.utter_message(text="Order " + number)',
    "text positional": 'dispatcher.utter_message("Hello")',
    "buttons": 'dispatcher.utter_message(response="utter_x", buttons=[{"title": "Yes"}])',
    "a sentence": 'SORRY = "Sorry, I could not find that order"',
    "a sentence in a dict": 'REPLIES = {"x": "We will be right with you"}',
    "an f-string sentence": 'x = f"Sorry {name}, we cannot find {number} now"',
    "a Swedish sentence": 'x = "Tyvärr hittar jag inte ordern"',
    "a Chinese sentence": 'x = "很抱歉找不到訂單"',
    "text from a variable outside the relay": "dispatcher.utter_message(text=message)",
}
ALLOWED = {
    "response names": 'dispatcher.utter_message(response="utter_order_not_found", n=x)',
    "a computed response name": 'dispatcher.utter_message(response=f"utter_{kind}_{slot}")',
    "identifiers": 'NAMES = ("check_order_status", "utter_clarify_faq_shipping_times")',
    "a docstring": 'def f():\n    """The customer asks for another language, and more."""',
    "a logger call": 'logger.info("order store unavailable while %s", what)',
    "an exception": 'raise ValueError(f"order {n} has an unknown status {s!r}")',
    "a regular expression": 'WORDS = re.compile(r"[a-z]+|[一二兩两三四五]")',
    "an agents' CRM line": 'answer = f"Order {n}: asked the customer to confirm the cancellation"',
    "a CRM keyword": 'record_turn(t, answer=f"Order {n}: return request -> {outcome} now")',
    "a log fragment": 'class A:\n    doing = "checking an order\'s status"',
    "three words": 'x = "no reason given"',
}


@pytest.mark.parametrize("source", list(FLAGGED.values()), ids=list(FLAGGED))
def test_the_rule_catches(source: str) -> None:
    assert findings(source, "example.py")


@pytest.mark.parametrize("source", list(ALLOWED.values()), ids=list(ALLOWED))
def test_the_rule_allows(source: str) -> None:
    assert findings(source, "example.py") == []


def test_the_relay_may_say_the_agents_words_and_nothing_else() -> None:
    relay = ("class ActionRelayAgentMessage:\n    def run(self, dispatcher, text):\n"
             "        dispatcher.utter_message(text=text)\n")
    assert findings(relay, "handoff.py") == []
    written = relay.replace("text=text", 'text="An agent will be with you"')
    assert findings(written, "handoff.py")
    assert findings(relay, "csat.py")


# --- the actions --------------------------------------------------------------------------------


def test_every_action_module_is_read() -> None:
    names = {path.name for path in ACTIONS}
    assert {"common.py", "forms.py", "handoff.py", "csat.py", "knowledge.py"} <= names


@pytest.mark.parametrize("path", ACTIONS, ids=[path.name for path in ACTIONS])
def test_the_actions_hold_no_customer_facing_sentences(path: Path) -> None:
    found = findings(path.read_text(encoding="utf-8"), path.name)
    assert not found, "\n".join(str(item) for item in found)


def test_the_relay_exists_where_it_is_allowed() -> None:
    tree = ast.parse((ROOT / "actions" / "handoff.py").read_text(encoding="utf-8"))
    classes = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    assert {cls for module, cls in RELAYS if module == "handoff.py"} <= classes
