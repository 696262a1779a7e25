"""Settings of the Slack agent-assist app, read once from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a whole number") from exc


@dataclass(frozen=True)
class SlackSettings:
    """Tokens, who counts as an agent, and how suggestions are chosen."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    port: int = 3000
    api_url: str = ""  # empty: Slack's real Web API; tests and benches use a local fake
    agent_usergroup: str = ""
    agent_channels: tuple[str, ...] = ()
    kb_url: str = "http://127.0.0.1:8900"
    min_score: float = 0.35
    suggestions: int = 3
    max_query_chars: int = 3000
    dedupe_seconds: int = 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        source = os.environ if env is None else env
        channels = tuple(c.strip() for c in source.get("SLACK_AGENT_CHANNELS", "").split(",")
                         if c.strip())
        return cls(
            bot_token=source.get("SLACK_BOT_TOKEN", "").strip(),
            signing_secret=source.get("SLACK_SIGNING_SECRET", "").strip(),
            app_token=source.get("SLACK_APP_TOKEN", "").strip(),
            port=_int(source, "SLACK_PORT", 3000),
            api_url=source.get("SLACK_API_URL", "").strip(),
            agent_usergroup=source.get("SLACK_AGENT_USERGROUP", "").strip(),
            agent_channels=channels,
            kb_url=source.get("KB_URL", "http://127.0.0.1:8900").strip(),
            min_score=_float(source, "KB_MIN_SCORE", 0.35),
            suggestions=_int(source, "SLACK_SUGGESTIONS", 3),
            max_query_chars=_int(source, "SLACK_MAX_QUERY_CHARS", 3000),
            dedupe_seconds=_int(source, "SLACK_DEDUPE_SECONDS", 3600),
        )

    def missing(self) -> str:
        """Why the app cannot start ("" when it can): the variables that are not set."""
        names = [name for name, value in (("SLACK_BOT_TOKEN", self.bot_token),
                                          ("SLACK_SIGNING_SECRET", self.signing_secret))
                 if not value]
        if not names:
            return ""
        verb = "is" if len(names) == 1 else "are"
        return f"{' and '.join(names)} {verb} not set"

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    @property
    def agents_configured(self) -> bool:
        return bool(self.agent_usergroup or self.agent_channels)
