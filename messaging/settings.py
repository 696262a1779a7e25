"""The messaging channels' settings: one frozen dataclass, read once from the environment.

Every secret comes from the environment; a channel whose secrets are not all set is off (its
webhook answers 404) and `off_reason(platform)` says which variables are missing. The outbound
API base URLs are settings too, so tests point them at local fakes on loopback.

| variable | channel | default | what |
|---|---|---|---|
| TWILIO_ACCOUNT_SID | whatsapp | (off) | the Twilio account that owns the WhatsApp sender |
| TWILIO_AUTH_TOKEN | whatsapp | (off) | checks X-Twilio-Signature and authenticates sends |
| TWILIO_WHATSAPP_FROM | whatsapp | (off) | the shop's WhatsApp sender, `whatsapp:+46...` |
| TWILIO_API_URL | whatsapp | https://api.twilio.com | Twilio's REST API |
| MESSENGER_APP_SECRET | messenger | (off) | checks X-Hub-Signature-256 |
| MESSENGER_VERIFY_TOKEN | messenger | (off) | the webhook verify handshake (hub.verify_token) |
| MESSENGER_PAGE_TOKEN | messenger | (off) | the page access token for the Send API |
| MESSENGER_API_URL | messenger | https://graph.facebook.com/v19.0 | Graph API |
| LINE_CHANNEL_SECRET | line | (off) | checks X-Line-Signature |
| LINE_CHANNEL_TOKEN | line | (off) | the channel access token for reply and push |
| LINE_API_URL | line | https://api.line.me | the Messaging API |
| MESSAGING_PUBLIC_URL | whatsapp | (the request's URL) | public base URL Twilio calls (signed) |
| WHATSAPP_WINDOW_HOURS | whatsapp | 24 | free-form replies after the last message |
| MESSENGER_WINDOW_HOURS | messenger | 24 | Messenger's standard messaging window |
| LINE_REPLY_TOKEN_SECONDS | line | 50 | older reply tokens are not used: push |
| MESSAGING_API_TIMEOUT_SECONDS | all | 10 | timeout of one call to a platform's API |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nordvik.env import env_float, env_int, env_str

PLATFORMS = ("whatsapp", "messenger", "line")

_REQUIRED: dict[str, tuple[str, ...]] = {
    "whatsapp": ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_WHATSAPP_FROM"),
    "messenger": ("MESSENGER_APP_SECRET", "MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGE_TOKEN"),
    "line": ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_TOKEN"),
}


@dataclass(frozen=True)
class MessagingSettings:
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_whatsapp_from: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    messenger_app_secret: str = field(default="", repr=False)
    messenger_verify_token: str = field(default="", repr=False)
    messenger_page_token: str = field(default="", repr=False)
    messenger_api_url: str = "https://graph.facebook.com/v19.0"
    line_channel_secret: str = field(default="", repr=False)
    line_channel_token: str = field(default="", repr=False)
    line_api_url: str = "https://api.line.me"
    public_url: str = ""
    whatsapp_window_hours: int = 24
    messenger_window_hours: int = 24
    line_reply_token_seconds: int = 50
    api_timeout_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MessagingSettings:
        return cls(
            twilio_account_sid=env_str(env, "TWILIO_ACCOUNT_SID"),
            twilio_auth_token=env_str(env, "TWILIO_AUTH_TOKEN"),
            twilio_whatsapp_from=env_str(env, "TWILIO_WHATSAPP_FROM"),
            twilio_api_url=env_str(env, "TWILIO_API_URL"),
            messenger_app_secret=env_str(env, "MESSENGER_APP_SECRET"),
            messenger_verify_token=env_str(env, "MESSENGER_VERIFY_TOKEN"),
            messenger_page_token=env_str(env, "MESSENGER_PAGE_TOKEN"),
            messenger_api_url=env_str(env, "MESSENGER_API_URL"),
            line_channel_secret=env_str(env, "LINE_CHANNEL_SECRET"),
            line_channel_token=env_str(env, "LINE_CHANNEL_TOKEN"),
            line_api_url=env_str(env, "LINE_API_URL"),
            public_url=env_str(env, "MESSAGING_PUBLIC_URL"),
            whatsapp_window_hours=env_int(env, "WHATSAPP_WINDOW_HOURS", low=1, high=24 * 30),
            messenger_window_hours=env_int(env, "MESSENGER_WINDOW_HOURS", low=1,
                                           high=24 * 30),
            line_reply_token_seconds=env_int(env, "LINE_REPLY_TOKEN_SECONDS", low=0,
                                             high=3600),
            api_timeout_seconds=env_float(env, "MESSAGING_API_TIMEOUT_SECONDS", low=0.1,
                                          high=120.0),
        )

    def off_reason(self, platform: str, env: Mapping[str, str] | None = None) -> str | None:
        """None when `platform` can run, else which variables are missing."""
        values = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": self.twilio_auth_token,
            "TWILIO_WHATSAPP_FROM": self.twilio_whatsapp_from,
            "MESSENGER_APP_SECRET": self.messenger_app_secret,
            "MESSENGER_VERIFY_TOKEN": self.messenger_verify_token,
            "MESSENGER_PAGE_TOKEN": self.messenger_page_token,
            "LINE_CHANNEL_SECRET": self.line_channel_secret,
            "LINE_CHANNEL_TOKEN": self.line_channel_token,
        }
        missing = [name for name in _REQUIRED[platform] if not values[name]]
        return f"{', '.join(missing)} not set" if missing else None

    def window_hours(self, platform: str) -> int | None:
        """How long after the customer's last message a free-form reply may be sent (None: no
        window, LINE pushes at any time)."""
        return {"whatsapp": self.whatsapp_window_hours,
                "messenger": self.messenger_window_hours}.get(platform)


def channel_status(env: Mapping[str, str] | None = None) -> list[tuple[str, str | None]]:
    """(platform, None when on / why it is off) for `make run`."""
    settings = MessagingSettings.from_env(env)
    return [(platform, settings.off_reason(platform)) for platform in PLATFORMS]
