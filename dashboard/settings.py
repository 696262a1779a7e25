"""Settings of the dashboard, read once from the environment."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from analytics.settings import AnalyticsError, AnalyticsSettings
from nordvik.env import SettingsError, env_bool, env_int, env_str
from nordvik.secrets import secret


class DashboardError(AnalyticsError):
    """The dashboard cannot start or cannot do what was asked."""


@dataclass(frozen=True)
class DashboardSettings:
    host: str
    port: int
    session_secret: str
    session_hours: int
    secure_cookies: bool
    login_max_failures: int
    login_window_s: int
    analytics: AnalyticsSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DashboardSettings:
        try:
            host = env_str(env, "DASHBOARD_HOST")
            return cls(
                host=host,
                port=env_int(env, "DASHBOARD_PORT", low=1, high=65535),
                session_secret=secret("dashboard_session", "DASHBOARD_SECRET", env=env),
                session_hours=env_int(env, "DASHBOARD_SESSION_HOURS", low=1, high=24 * 30),
                secure_cookies=env_bool(env, "DASHBOARD_SECURE_COOKIES"),
                login_max_failures=env_int(env, "DASHBOARD_LOGIN_MAX_FAILURES", low=1),
                login_window_s=env_int(env, "DASHBOARD_LOGIN_WINDOW_S", low=1),
                analytics=AnalyticsSettings.from_env(env),
            )
        except SettingsError as exc:
            raise DashboardError(str(exc)) from exc

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False
