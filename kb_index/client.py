"""HTTP client for `kb serve`, implementing the KnowledgeSearch protocol."""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from kb_index.auth import configured_token
from kb_index.errors import InvalidQuery, KnowledgeError, KnowledgeUnavailable
from kb_index.settings import KbSettings
from kb_index.types import Hit

logger = logging.getLogger(__name__)


class HttpKnowledgeClient:
    """Searches a running `kb serve`; raises KnowledgeUnavailable or InvalidQuery.

    ``token``: the bearer token to send; by default the configured one (``KB_TOKEN``, else
    var/secrets/kb_token when `kb token` made it; see kb_index.auth), none if neither exists.
    """

    def __init__(self, base_url: str, timeout: float = 2.0, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._token = _configured_token() if token is None else token

    @classmethod
    def from_env(cls, timeout: float = 2.0) -> HttpKnowledgeClient:
        return cls(KbSettings.from_env().url, timeout=timeout)

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        lang: str | None = None,
        audience: tuple[str, ...] = ("public",),
        tags: tuple[str, ...] = (),
    ) -> list[Hit]:
        params: dict[str, str] = {"q": query, "k": str(k), "audience": ",".join(audience)}
        if lang:
            params["lang"] = lang
        if tags:
            params["tags"] = ",".join(tags)
        url = f"{self.base_url}/search?{urllib.parse.urlencode(params)}"
        payload = self._get_json(url)
        try:
            return [_hit_from_json(item) for item in payload["hits"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise KnowledgeUnavailable(f"malformed answer from {self.base_url}/search") from exc

    def healthy(self) -> bool:
        try:
            self._get_json(f"{self.base_url}/healthz")
        except (KnowledgeUnavailable, InvalidQuery):
            return False
        return True

    def _get_json(self, url: str) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                message = _error_message(exc.read())
                raise InvalidQuery(message) from exc
            if exc.code == 401:
                logger.warning("kb serve at %s refused the request: %s", self.base_url,
                               "wrong token" if self._token else "it needs a token (KB_TOKEN)")
                raise KnowledgeUnavailable("kb serve answered HTTP 401 (token)") from exc
            logger.warning("kb serve answered HTTP %s for %s", exc.code, self.base_url)
            raise KnowledgeUnavailable(f"kb serve answered HTTP {exc.code}") from exc
        except (OSError, http.client.HTTPException) as exc:
            logger.warning("kb serve unreachable at %s: %s", self.base_url, type(exc).__name__)
            raise KnowledgeUnavailable(f"kb serve unreachable at {self.base_url}") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise KnowledgeUnavailable(f"non-JSON answer from {self.base_url}") from exc
        if not isinstance(data, dict):
            raise KnowledgeUnavailable(f"unexpected answer from {self.base_url}")
        return data


def _configured_token() -> str:
    try:
        return configured_token(KbSettings.from_env())
    except KnowledgeError as exc:
        logger.warning("no token for kb serve: %s", exc)
        return ""


def _error_message(body: bytes) -> str:
    try:
        data = json.loads(body)
        return str(data.get("error", "invalid query"))
    except (ValueError, AttributeError):
        return "invalid query"


def hit_to_json(hit: Hit) -> dict[str, Any]:
    """The wire format of a hit (CONTRACTS.md, section Knowledge index)."""
    return {
        "article_id": hit.article_id,
        "title": hit.title,
        "passage": hit.passage,
        "score": round(hit.score, 4),
        "language": hit.language,
        "url": hit.url,
        "stale": hit.stale,
        "audience": hit.audience,
        "heading_path": list(hit.heading_path),
    }


def _hit_from_json(item: dict[str, Any]) -> Hit:
    return Hit(
        article_id=str(item["article_id"]),
        title=str(item["title"]),
        passage=str(item["passage"]),
        score=float(item["score"]),
        language=str(item["language"]),
        url=str(item["url"]),
        stale=bool(item["stale"]),
        audience=str(item.get("audience", "public")),
        heading_path=tuple(str(h) for h in item.get("heading_path", ())),
    )
