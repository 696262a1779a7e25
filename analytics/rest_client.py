"""The bot's REST channel as internal tools use it (the demo-data generator)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any


class RestClient:
    """The bot's REST channel, as internal traffic: with Rasa's API token, the demo spends no
    customer's message limit (rasa_addons.channels)."""

    def __init__(self, base_url: str, token: str, timeout: float = 60.0) -> None:
        self.health_url = base_url.rstrip("/") + "/webhooks/rest/"
        self.url = self.health_url + "webhook"
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def say(self, sender: str, message: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": message}).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, method="POST",
                                         headers=self._headers)
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return list(json.loads(response.read().decode("utf-8") or "[]"))

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=5) as response:  # noqa: S310
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, ValueError):
            return False
