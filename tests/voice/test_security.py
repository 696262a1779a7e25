"""Signature and replay checks (voice/security.py) and the settings (voice/settings.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from nordvik.env import SettingsError
from voice.security import ReplayGuard, RequestCheck, sign
from voice.settings import VoiceSettings

URL = "https://voice.example/webhooks/phone/gather?l=sv&n=3"
FIELDS = {"CallSid": "CA1", "From": "+46701112233", "SpeechResult": "hej"}


def test_signed_once_is_ok_then_a_replay() -> None:
    check = RequestCheck("token", 3600)
    signature = sign("token", URL, FIELDS)
    assert check.verdict(URL, FIELDS, signature) == "ok"
    assert check.verdict(URL, FIELDS, signature) == "replayed"


@pytest.mark.parametrize(("url", "fields", "signature"), [
    (URL, {**FIELDS, "From": "+46709999999"}, sign("token", URL, FIELDS)),
    (URL.replace("n=3", "n=4"), FIELDS, sign("token", URL, FIELDS)),
    (URL, FIELDS, sign("other-token", URL, FIELDS)),
    (URL, FIELDS, "bm90IGEgc2lnbmF0dXJl"),
])
def test_forged(url: str, fields: dict[str, str], signature: str) -> None:
    assert RequestCheck("token", 3600).verdict(url, fields, signature) == "forged"


def test_unsigned_and_channel_without_token() -> None:
    assert RequestCheck("token", 3600).verdict(URL, FIELDS, None) == "unsigned"
    assert RequestCheck("", 3600).verdict(URL, FIELDS, sign("", URL, FIELDS)) == "forged"


def test_replay_guard_forgets_after_its_window() -> None:
    now = [0.0]
    guard = ReplayGuard(60, clock=lambda: now[0])
    assert guard.first_time("a") and not guard.first_time("a")
    now[0] = 61.0
    assert guard.first_time("a")


def test_settings() -> None:
    settings = VoiceSettings.from_env({
        "TWILIO_AUTH_TOKEN": "t", "VOICE_NUMBER_SV": "08-123 456 01",
        "VOICE_NUMBER_ZH": "+46 8 123 456 04", "VOICE_AGENTS_NUMBER": "+46 8 123 456 99",
        "VOICE_PUBLIC_URL": "https://voice.example/webhooks/phone/"})
    assert settings.missing() is None
    assert settings.language_of_number("+46812345601") == "sv"
    assert settings.language_of_number("+46812345604") == "zh"
    assert settings.language_of_number("+46812345600") is None
    assert settings.agents_number == "+46812345699"
    assert settings.public_url == "https://voice.example/webhooks/phone"
    monday_9 = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)  # 09:00 in Stockholm
    sunday = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
    assert settings.in_hours(monday_9) and not settings.in_hours(sunday)
    assert VoiceSettings.from_env({}).missing() == "TWILIO_AUTH_TOKEN not set"
    never = VoiceSettings.from_env({"VOICE_HOURS": "none"})
    assert not never.in_hours(monday_9)
    always = VoiceSettings.from_env({"VOICE_HOURS": "mon-sun 00:00-24:00"})
    assert always.in_hours(sunday)
    for bad in ({"VOICE_HOURS": "weekdays 9-5"}, {"VOICE_NUMBER_EN": "call me"},
                {"VOICE_TIMEZONE": "Mars/Olympus"}, {"VOICE_HOURS": "mon 25:00-26:00"}):
        with pytest.raises(SettingsError):
            VoiceSettings.from_env(bad)


def test_replays_are_remembered_in_redis_across_processes() -> None:
    import secrets

    from tests.support.redis import redis_or_skip
    from voice.security import RedisReplayGuard

    client = redis_or_skip()
    prefix = f"voice-test-{secrets.token_hex(4)}"
    one = RedisReplayGuard("", 60, prefix, client=client)
    other = RedisReplayGuard("", 60, prefix, client=client)  # another replica
    assert one.first_time("f1") and not other.first_time("f1")
    assert 0 < int(client.ttl(f"{prefix}:phone-seen:f1")) <= 60
    client.delete(f"{prefix}:phone-seen:f1")


def test_without_redis_this_process_remembers() -> None:
    from voice.security import RedisReplayGuard

    class Down:
        def set(self, *args: object, **kwargs: object) -> None:
            raise ConnectionError("down")

    guard = RedisReplayGuard("", 60, client=Down())
    assert guard.first_time("f2") and not guard.first_time("f2")
