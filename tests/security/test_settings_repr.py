"""Settings objects may end up in a log line or a traceback: their repr never shows a secret."""

from __future__ import annotations

from messaging.settings import MessagingSettings
from voice.settings import VoiceSettings

SECRETS = {
    "TWILIO_AUTH_TOKEN": "secret-twilio-0001", "MESSENGER_APP_SECRET": "secret-meta-0002",
    "MESSENGER_VERIFY_TOKEN": "secret-meta-0003", "MESSENGER_PAGE_TOKEN": "secret-meta-0004",
    "LINE_CHANNEL_SECRET": "secret-line-0005", "LINE_CHANNEL_TOKEN": "secret-line-0006",
}


def test_channel_settings_keep_their_secrets_out_of_repr() -> None:
    messaging = MessagingSettings.from_env(SECRETS)
    voice = VoiceSettings.from_env(SECRETS)
    assert messaging.line_channel_secret == SECRETS["LINE_CHANNEL_SECRET"]  # read, not lost
    assert voice.auth_token == SECRETS["TWILIO_AUTH_TOKEN"]
    for shown in (repr(messaging), repr(voice)):
        assert not [name for name, value in SECRETS.items() if value in shown], shown
