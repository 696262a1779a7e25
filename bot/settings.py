"""Settings of the Slack agent-assist app, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nordvik.env import env_float, env_int, env_list, env_str


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
    redis_url: str = field(default="", repr=False)  # may hold a password
    redis_prefix: str = "nordvik"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SlackSettings:
        return cls(
            bot_token=env_str(env, "SLACK_BOT_TOKEN"),
            signing_secret=env_str(env, "SLACK_SIGNING_SECRET"),
            app_token=env_str(env, "SLACK_APP_TOKEN"),
            port=env_int(env, "SLACK_PORT", low=1, high=65535),
            api_url=env_str(env, "SLACK_API_URL"),
            agent_usergroup=env_str(env, "SLACK_AGENT_USERGROUP"),
            agent_channels=env_list(env, "SLACK_AGENT_CHANNELS"),
            kb_url=env_str(env, "KB_URL"),
            min_score=env_float(env, "KB_MIN_SCORE"),
            suggestions=env_int(env, "SLACK_SUGGESTIONS", low=1),
            max_query_chars=env_int(env, "SLACK_MAX_QUERY_CHARS", low=1),
            dedupe_seconds=env_int(env, "SLACK_DEDUPE_SECONDS", low=0),
            redis_url=env_str(env, "REDIS_URL"),
            redis_prefix=env_str(env, "SLACK_REDIS_PREFIX"),
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
