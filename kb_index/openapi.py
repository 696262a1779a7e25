"""The OpenAPI 3.0 description of `kb serve` (served at GET /openapi.json; `kb openapi`)."""

from __future__ import annotations

from typing import Any

from kb_index.settings import KbSettings
from kb_index.types import AUDIENCES, LANGUAGES

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_HIT = {
    "type": "object",
    "required": [
        "article_id", "title", "passage", "score", "language", "url", "stale", "audience",
        "heading_path",
    ],
    "properties": {
        "article_id": {"type": "string"},
        "title": {"type": "string"},
        "passage": {"type": "string"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "language": {"type": "string", "enum": list(LANGUAGES)},
        "url": {"type": "string"},
        "stale": {"type": "boolean"},
        "audience": {"type": "string", "enum": list(AUDIENCES)},
        "heading_path": {"type": "array", "items": {"type": "string"}},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def openapi_document(settings: KbSettings) -> dict[str, Any]:
    unauthorized = _json(_ERROR, "missing or wrong bearer token (when kb serve has a token)")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "kb serve: Nordvik knowledge search",
            "version": "1",
            "description": "Hybrid (dense + BM25) search over the help-centre articles. When a "
            "token is configured every operation except /healthz needs "
            "`Authorization: Bearer <token>`.",
        },
        "servers": [{"url": settings.url}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR, "Hit": _HIT},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/search": {
                "get": {
                    "operationId": "search",
                    "parameters": [
                        {"name": "q", "in": "query", "required": True,
                         "schema": {"type": "string", "minLength": 1,
                                    "maxLength": settings.max_query_bytes}},
                        {"name": "k", "in": "query", "required": False,
                         "schema": {"type": "integer", "minimum": 1,
                                    "maximum": settings.max_k, "default": 5}},
                        {"name": "lang", "in": "query", "required": False,
                         "schema": {"type": "string", "enum": list(LANGUAGES)}},
                        {"name": "audience", "in": "query", "required": False,
                         "description": "comma list of public, internal (default public)",
                         "schema": {"type": "string", "default": "public"}},
                        {"name": "tags", "in": "query", "required": False,
                         "description": "comma list, any of", "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": _json(
                            {"type": "object", "required": ["query", "hits"],
                             "properties": {"query": {"type": "string"}, "hits": {
                                 "type": "array", "items": {"$ref": "#/components/schemas/Hit"}}}},
                            "hits, best first, one per article",
                        ),
                        "400": _json(_ERROR, "empty or too long query, bad k, lang or audience, "
                                     "query string not valid UTF-8"),
                        "401": unauthorized,
                        "503": _json(_ERROR, "no live index version"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "security": [],
                    "responses": {
                        "200": _json({"type": "object", "properties": {
                            "status": {"type": "string"}, "version": {"type": "string"},
                            "articles": {"type": "integer"}, "passages": {"type": "integer"}}},
                            "the live version"),
                        "503": _json({"type": "object"}, "nothing live"),
                    },
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "responses": {
                        "200": {"description": "Prometheus text format",
                                "content": {"text/plain": {"schema": {"type": "string"}}}},
                        "401": unauthorized,
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "responses": {"200": _json({"type": "object"}, "this document"),
                                  "401": unauthorized},
                }
            },
        },
    }
