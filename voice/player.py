"""Twilio's side of a call, played against the phone channel: signed webhooks, TwiML read back.

    player = CallPlayer("http://127.0.0.1:5005/webhooks/phone", auth_token,
                        caller="+46701112233", dialled="+46812345601")
    page = player.start()                 # POST /call
    page = player.say("where is my order")  # the Gather's action with SpeechResult
    page = player.press("12345")            # ... with Digits
    page = player.silence()                 # the fallback after the Gather (<Redirect>)
    page = player.dial_ended("no-answer")   # the <Dial>'s action with DialCallStatus

Each request is form-encoded and signed as Twilio signs it (X-Twilio-Signature over the full
URL and the fields, twilio.request_validator). Used by `python -m voice.send_test` and the tests.
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from voice.security import sign

TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Page:
    """One TwiML answer, read the way Twilio reads it."""

    status: int
    url: str
    xml: str
    says: tuple[tuple[str, str], ...] = ()  # (text, language)
    gather_action: str | None = None
    fallback: str | None = None  # the <Redirect> after the <Gather>
    dial_number: str | None = None
    dial_action: str | None = None
    hangup: bool = False
    gathers: tuple[dict[str, str], ...] = field(default=())

    @property
    def text(self) -> str:
        return " ".join(text for text, _ in self.says)


def read_page(status: int, url: str, body: str) -> Page:
    if status != 200:
        return Page(status, url, body)
    root = ET.fromstring(body)
    says: list[tuple[str, str]] = []
    gathers: list[dict[str, str]] = []
    gather_action = fallback = dial_number = dial_action = None
    for verb in root:
        if verb.tag == "Say":
            says.append((verb.text or "", verb.get("language", "")))
        elif verb.tag == "Gather":
            gathers.append(dict(verb.attrib))
            gather_action = urllib.parse.urljoin(url, verb.get("action", ""))
            says += [(say.text or "", say.get("language", "")) for say in verb if say.tag == "Say"]
        elif verb.tag == "Redirect":
            fallback = urllib.parse.urljoin(url, verb.text or "")
        elif verb.tag == "Dial":
            dial_number = (verb.text or "").strip()
            dial_action = urllib.parse.urljoin(url, verb.get("action", ""))
    return Page(status, url, body, tuple(says), gather_action, fallback, dial_number,
                dial_action, any(verb.tag == "Hangup" for verb in root), tuple(gathers))


class CallPlayer:
    """One call: its CallSid, caller ID and dialled number on every request, like Twilio."""

    def __init__(self, base_url: str, auth_token: str, *, caller: str, dialled: str,
                 call_sid: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_token = auth_token
        self.fields = {"CallSid": call_sid or "CA" + secrets.token_hex(16),
                       "AccountSid": "AC" + "0" * 32, "From": caller, "To": dialled,
                       "Direction": "inbound", "CallStatus": "in-progress"}
        self.page: Page | None = None
        self.requests: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def post(self, url: str, extra: dict[str, str] | None = None, *,
             signature: str | None = "sign") -> Page:
        fields = {**self.fields, **(extra or {})}
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            headers["X-Twilio-Signature"] = sign(self.auth_token, url, fields)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        self.requests.append((url, fields, headers))
        return self.send(url, fields, headers)

    def send(self, url: str, fields: dict[str, str], headers: dict[str, str]) -> Page:
        data = urllib.parse.urlencode(fields).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
                page = read_page(answer.status, url, answer.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            page = Page(error.code, url, error.read().decode("utf-8", "replace"))
        if page.status == 200:
            self.page = page
        return page

    def replay_last(self) -> Page:
        url, fields, headers = self.requests[-1]
        return self.send(url, fields, headers)

    def start(self) -> Page:
        return self.post(f"{self.base_url}/call")

    def _action(self) -> str:
        if self.page is None or self.page.gather_action is None:
            raise RuntimeError("the call is not listening (no <Gather> on the last page)")
        return self.page.gather_action

    def say(self, text: str) -> Page:
        return self.post(self._action(), {"SpeechResult": text, "Confidence": "0.9"})

    def press(self, digits: str) -> Page:
        return self.post(self._action(), {"Digits": digits})

    def silence(self) -> Page:
        if self.page is None or self.page.fallback is None:
            raise RuntimeError("no fallback after the last <Gather>")
        return self.post(self.page.fallback)

    def dial_ended(self, status: str) -> Page:
        if self.page is None or self.page.dial_action is None:
            raise RuntimeError("the last page has no <Dial>")
        return self.post(self.page.dial_action, {"DialCallStatus": status})

    def ended(self) -> Page:
        """Twilio's status callback once the caller hangs up."""
        return self.post(f"{self.base_url}/status", {"CallStatus": "completed"})
