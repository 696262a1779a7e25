"""Every setting of the phone channel, read once from the environment (nordvik.env).

- TWILIO_AUTH_TOKEN: the account's auth token, checks X-Twilio-Signature (secret, environment
  only); without it the channel is off (every webhook answers 503).
- VOICE_PUBLIC_URL: the webhook base Twilio calls (https://host/webhooks/phone); signatures are
  checked against it. Default: the URL of the request as the server sees it.
- VOICE_NUMBER_EN, _SV, _NB, _ZH: the number dialled for each language; other numbers get the
  language menu.
- VOICE_AGENTS_NUMBER: where <Dial> transfers a caller in hours; without it, callbacks only.
- VOICE_HOURS ("mon-fri 08:00-18:00; sat 10:00-14:00"; "none": never), VOICE_TIMEZONE
  (Europe/Stockholm): when agents answer the phone.
- VOICE_DIAL_TIMEOUT (20): seconds the agents' phone rings before the call becomes a callback.
- VOICE_REPLAY_SECONDS (3600): how long a signed request is remembered to refuse its replay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from nordvik.env import SettingsError, env_int, env_str
from nordvik.phones import normalize_phone

LANGUAGE_ORDER = ("sv", "nb", "en", "zh")  # the menu's order: keypad 1..4
SPEECH_LANGUAGES = {"en": "en-GB", "sv": "sv-SE", "nb": "nb-NO", "zh": "zh-TW"}
VOICES = {"en": "Polly.Amy", "sv": "Polly.Astrid", "nb": "Polly.Liv",
          "zh": "Google.cmn-TW-Standard-A"}
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

Hours = tuple[tuple[int, time, time | None], ...]  # weekday, opens, closes (None: midnight)


def parse_hours(text: str, name: str = "VOICE_HOURS") -> Hours:
    """"mon-fri 08:00-18:00; sat 10:00-14:00" -> one entry per weekday; "none" -> never."""
    if text.strip().lower() in ("none", "never", "closed"):
        return ()
    spans: list[tuple[int, time, time | None]] = []
    for part in filter(None, (p.strip().lower() for p in text.split(";"))):
        found = _SPAN.match(part)
        if found is None or found.group(1) not in _DAYS or (
                found.group(2) and found.group(2) not in _DAYS):
            raise SettingsError(f"{name}={text!r}: {part!r} is not like 'mon-fri 08:00-18:00'")
        first = _DAYS.index(found.group(1))
        last = _DAYS.index(found.group(2)) if found.group(2) else first
        try:
            opens = time(int(found.group(3)), int(found.group(4)))
            end_hour, end_minute = int(found.group(5)), int(found.group(6))
            closes = None if (end_hour, end_minute) == (24, 0) else time(end_hour, end_minute)
        except ValueError as exc:
            raise SettingsError(f"{name}={text!r}: {part!r} has an impossible time") from exc
        spans.extend((day, opens, closes) for day in range(first, last + 1))
    return tuple(spans)


@dataclass(frozen=True)
class VoiceSettings:
    auth_token: str = field(default="", repr=False)
    public_url: str = ""
    numbers: dict[str, str] = field(default_factory=dict)  # E.164 -> language
    agents_number: str = ""
    hours: Hours = ()
    timezone: str = "Europe/Stockholm"
    dial_timeout: int = 20
    replay_seconds: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> VoiceSettings:
        numbers: dict[str, str] = {}
        for language in LANGUAGE_ORDER:
            name = f"VOICE_NUMBER_{language.upper()}"
            raw = env_str(env, name)
            if raw:
                number = normalize_phone(raw, region="SE")
                if number is None:
                    raise SettingsError(f"{name} is not a phone number")
                numbers[number] = language
        agents = env_str(env, "VOICE_AGENTS_NUMBER")
        if agents and normalize_phone(agents, region="SE") is None:
            raise SettingsError("VOICE_AGENTS_NUMBER is not a phone number")
        zone = env_str(env, "VOICE_TIMEZONE")
        try:
            ZoneInfo(zone)
        except (KeyError, ValueError) as exc:
            raise SettingsError(f"VOICE_TIMEZONE={zone!r} is not a time zone") from exc
        return cls(
            auth_token=env_str(env, "TWILIO_AUTH_TOKEN"),
            public_url=env_str(env, "VOICE_PUBLIC_URL").rstrip("/"),
            numbers=numbers,
            agents_number=normalize_phone(agents, region="SE") or "" if agents else "",
            hours=parse_hours(env_str(env, "VOICE_HOURS")),
            timezone=zone,
            dial_timeout=env_int(env, "VOICE_DIAL_TIMEOUT", low=5, high=120),
            replay_seconds=env_int(env, "VOICE_REPLAY_SECONDS", low=60),
        )

    def missing(self) -> str | None:
        """Why the channel is off, or None when it can answer calls."""
        return None if self.auth_token else "TWILIO_AUTH_TOKEN not set"

    def language_of_number(self, dialled: str | None) -> str | None:
        """The language of the number the caller dialled; None: ask with the menu."""
        number = normalize_phone(dialled, region="SE")
        return self.numbers.get(number) if number else None

    def in_hours(self, now: datetime) -> bool:
        """Whether agents answer the phone at `now` (timezone-aware)."""
        local = now.astimezone(ZoneInfo(self.timezone))
        for day, opens, closes in self.hours:
            if day == local.weekday() and opens <= local.time() and (
                    closes is None or local.time() < closes):
                return True
        return False
