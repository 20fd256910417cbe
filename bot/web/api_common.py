"""What every JSON API of the web service shares: responses, request bodies, origins, endpoints."""

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


def _first(request: web.Request, header: str) -> str:
    """The first entry of a comma-separated forwarding header (what the outer proxy saw)."""
    return request.headers.get(header, "").split(",")[0].strip()


def _origin(scheme: str, host: str) -> str:
    """``scheme://host[:port]`` in lower case, without the scheme's default port."""
    scheme, host = scheme.strip().lower(), host.strip().lower().rstrip("/")
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}"


def own_origins(request: web.Request, trust_proxy: bool) -> set[str]:
    """The web service's own origin as the browser sees it: the request's scheme and Host.

    Behind a trusted proxy (``DIGITUKI_TRUST_PROXY``) also the scheme and host of
    ``X-Forwarded-Proto`` and ``X-Forwarded-Host``: TLS ends at the proxy, so the page
    is ``https://`` while the web service sees ``http``.
    """
    origins = {_origin(request.scheme, request.host)}
    if trust_proxy:
        scheme = _first(request, "X-Forwarded-Proto") or request.scheme
        host = _first(request, "X-Forwarded-Host") or request.host
        origins.add(_origin(scheme, host))
    return origins


def same_origin(request: web.Request, trust_proxy: bool) -> bool:
    """Whether the request's ``Origin`` header, when it has one, is the web service's own.

    Browsers send ``Origin`` with cross-site requests (and with every POST and
    WebSocket), so a page of another site cannot pass for ours; a request without
    the header comes from no browser page and passes.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    scheme, separator, host = origin.partition("://")
    return bool(separator and host) and _origin(scheme, host) in own_origins(request, trust_proxy)


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
