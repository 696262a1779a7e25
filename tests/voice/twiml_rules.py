"""Twilio's TwiML rules as every phone test checks them (written apart from voice/twiml.py).

- the page is a <Response> of known verbs;
- every <Say> and <Gather> speaks and listens in the call's language (sv-SE, nb-NO, zh-TW,
  en-GB) with a voice; only the language menu says each language in its own;
- nothing said holds a URL (an e-mail address is not a URL);
- a <Gather> holds only <Say>/<Play>/<Pause>, has an action, and is never the last verb: a
  fallback follows it for silence;
- a <Dial> has an action (what happens when nobody answers); a page ends in <Redirect>,
  <Hangup> or <Dial>.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

SPEECH = {"en": "en-GB", "sv": "sv-SE", "nb": "nb-NO", "zh": "zh-TW"}
VERBS = {"Say", "Play", "Pause", "Gather", "Redirect", "Dial", "Hangup", "Reject"}
IN_GATHER = {"Say", "Play", "Pause"}
URL = re.compile(r"https?://|www\.|(?<![@\w.])[a-z0-9-]+\.(?:example|com|se|no|tw|net|org)\b",
                 re.IGNORECASE)


def check_twiml(xml: str, language: str, *, menu: bool = False) -> list[str]:
    """The rules `xml` breaks (empty when it keeps them all)."""
    problems: list[str] = []
    root = ET.fromstring(xml)
    if root.tag != "Response":
        return [f"root is <{root.tag}>"]
    verbs = list(root)
    allowed = set(SPEECH.values()) if menu else {SPEECH[language]}

    def said(say: ET.Element) -> None:
        if say.get("language") not in allowed:
            problems.append(f"<Say> in {say.get('language')}, the call is in {language}")
        if not say.get("voice"):
            problems.append("<Say> without a voice")
        if not (say.text or "").strip():
            problems.append("empty <Say>")
        if URL.search(say.text or ""):
            problems.append(f"a URL is said: {say.text!r}")

    for index, verb in enumerate(verbs):
        if verb.tag not in VERBS:
            problems.append(f"unknown verb <{verb.tag}>")
        if verb.tag == "Say":
            said(verb)
        if verb.tag == "Gather":
            expected = SPEECH["en"] if menu else SPEECH[language]
            if verb.get("language") != expected:
                problems.append(f"<Gather> listens in {verb.get('language')}, not {expected}")
            if not verb.get("action"):
                problems.append("<Gather> without an action")
            for child in verb:
                if child.tag not in IN_GATHER:
                    problems.append(f"<{child.tag}> inside <Gather>")
                if child.tag == "Say":
                    said(child)
            if index == len(verbs) - 1:
                problems.append("<Gather> without a fallback after it")
        if verb.tag == "Dial" and not verb.get("action"):
            problems.append("<Dial> without an action")
    if verbs and verbs[-1].tag not in ("Redirect", "Hangup", "Dial", "Reject"):
        problems.append(f"the page ends with <{verbs[-1].tag}>")
    return problems
