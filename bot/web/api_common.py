"""What every JSON API of the web service shares: responses, request bodies, endpoint records."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

AGENT_KEY = "digituki.agent"
"""Where the checked account is kept on the request (aiohttp 3.9 has no typed request keys)."""
CSRF_KEY = "digituki.csrf"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    # A lone surrogate (from an uploaded file's escapes) cannot be sent as UTF-8: "?" instead.
    return text.encode("utf-8", "replace").decode("utf-8")


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def error_response(status: int, code: str, message: str) -> web.Response:
    return json_response({"error": code, "message": message}, status)


def bad_body(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": "bad_json", "message": message}),
        content_type="application/json",
    )


async def read_json(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; anything else is a 400 with a JSON error."""
    try:
        body = await request.json()
        # Lone surrogates ("\ud800") parse as JSON but are not text any database can store.
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, LookupError):  # bad JSON or encoding, unknown charset
        raise bad_body("the body must be a JSON object in UTF-8") from None
    if not isinstance(body, dict):
        raise bad_body("the body must be a JSON object")
    return body


def object_schema(required: tuple[str, ...], **properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": properties}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] | None  # None: no login needed
    changes_state: bool
    body: dict[str, Any] | None = None  # JSON schema of the request body
    query: tuple[dict[str, Any], ...] = ()  # OpenAPI query parameters
    produces: str = "application/json"  # the media type of a successful answer
