"""The handoff API for the console of digital support workers (``/api/v1``).

Every endpoint but login and the OpenAPI document needs a logged-in session
(cookie ``digituki_session``), the right role, and for anything that changes
state the session's CSRF token in ``X-CSRF-Token``. Database work runs in a
worker thread. The routes and their rules are listed once, in :data:`ENDPOINTS`;
the OpenAPI document is built from that list, so it cannot drift.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from aiohttp import web

from bot.handoff import Agent, HandoffRequest, QueueError
from bot.handoff.queue import OUTCOMES
from bot.handoff.rasa_client import RasaUnavailableError
from bot.handoff.sessions import csrf_matches
from bot.web.keys import AGENTS, CONSOLE_SESSIONS, QUEUE, RASA, SETTINGS

COOKIE = "digituki_session"
CSRF_HEADER = "X-CSRF-Token"
STAFF = ("worker", "coordinator", "admin")
OVERSEERS = ("coordinator", "admin")
MAX_MESSAGE = 2000
AGENT_KEY = "digituki.agent"
"""Where the checked account is kept on the request (aiohttp 3.9 has no typed request keys)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(
        data, status=status, dumps=lambda v: json.dumps(v, ensure_ascii=False, default=str)
    )


def _error(status: int, code: str, message: str) -> web.Response:
    return _json({"error": code, "message": message}, status)


def _agent_json(agent: Agent) -> dict[str, Any]:
    return asdict(agent)


def _request_json(request: HandoffRequest) -> dict[str, Any]:
    return asdict(request)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(
            text='{"error": "bad_json"}', content_type="application/json"
        ) from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"error": "bad_json"}', content_type="application/json")
    return body


# --- handlers -------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    body = await _body(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return _error(400, "bad_request", "username and password are required")
    agent = await asyncio.to_thread(request.app[AGENTS].authenticate, username, password)
    if agent is None:
        return _error(401, "bad_credentials", "wrong username or password")
    token, csrf = await asyncio.to_thread(request.app[CONSOLE_SESSIONS].open, agent)
    response = _json({"agent": _agent_json(agent), "csrf_token": csrf})
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/",
        max_age=request.app[SETTINGS].console_session_hours * 3600,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    await asyncio.to_thread(request.app[CONSOLE_SESSIONS].close, request.cookies[COOKIE])
    response = web.Response(status=204)
    response.del_cookie(COOKIE, path="/")
    return response


async def me(request: web.Request) -> web.Response:
    return _json(_agent_json(request[AGENT_KEY]))


async def set_availability(request: web.Request) -> web.Response:
    body = await _body(request)
    if not isinstance(body.get("available"), bool):
        return _error(400, "bad_request", "available must be true or false")
    agent = request[AGENT_KEY]
    await asyncio.to_thread(request.app[AGENTS].set_available, agent.id, body["available"])
    return _json({"available": body["available"]})


async def queue(request: web.Request) -> web.Response:
    waiting = await asyncio.to_thread(request.app[QUEUE].waiting_for, request[AGENT_KEY])
    return _json({"waiting": [_request_json(r) for r in waiting]})


async def claim(request: web.Request) -> web.Response:
    taken = await asyncio.to_thread(
        request.app[QUEUE].claim, request[AGENT_KEY], request.match_info["request_id"]
    )
    try:
        await request.app[RASA].pause(taken.conversation_id)  # the worker answers now
    except RasaUnavailableError as error:
        return _error(502, "rasa_unavailable", f"claimed, but the bot could not be paused: {error}")
    return _json(_request_json(taken))


async def hand_back(request: web.Request) -> web.Response:
    request_id = request.match_info["request_id"]
    found = await asyncio.to_thread(request.app[QUEUE].get, request_id)
    await asyncio.to_thread(request.app[QUEUE].hand_back, request[AGENT_KEY], request_id)
    try:
        await request.app[RASA].resume(found.conversation_id if found else "")
    except RasaUnavailableError as error:
        return _error(502, "rasa_unavailable", f"handed back, but the bot did not answer: {error}")
    return web.Response(status=204)


async def _own_active(request: web.Request) -> HandoffRequest:
    """The request of the path, if the logged-in worker has it now."""
    found = await asyncio.to_thread(request.app[QUEUE].get, request.match_info["request_id"])
    agent = request[AGENT_KEY]
    if found is None or found.state != "active" or found.claimed_by != agent.id:
        raise QueueError("not_yours", "only the worker who has the chat can write in it")
    return found


async def send_message(request: web.Request) -> web.Response:
    body = await _body(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE:
        return _error(400, "bad_request", f"text is 1–{MAX_MESSAGE} characters")
    handoff = await _own_active(request)
    agent = request[AGENT_KEY]
    try:
        await request.app[RASA].send_worker_message(
            handoff.conversation_id, text.strip(), agent.display_name
        )
    except RasaUnavailableError as error:
        return _error(502, "rasa_unavailable", f"not delivered, try again: {error}")
    return web.Response(status=204)


async def transcript(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(request.app[QUEUE].get, request.match_info["request_id"])
    agent = request[AGENT_KEY]
    if found is None or (found.claimed_by != agent.id and agent.role not in OVERSEERS):
        raise QueueError("not_yours", "the transcript is for the worker who has the chat")
    try:
        lines = await request.app[RASA].transcript(found.conversation_id)
    except RasaUnavailableError as error:
        return _error(502, "rasa_unavailable", str(error))
    return _json({"request": _request_json(found), "messages": [asdict(line) for line in lines]})


async def close(request: web.Request) -> web.Response:
    body = await _body(request)
    outcome, notes = body.get("outcome"), body.get("notes")
    if not isinstance(outcome, str) or (notes is not None and not isinstance(notes, str)):
        return _error(400, "bad_request", f"outcome is one of {', '.join(OUTCOMES)}; notes is text")
    await asyncio.to_thread(
        request.app[QUEUE].close,
        request[AGENT_KEY],
        request.match_info["request_id"],
        outcome,
        notes,
    )
    return web.Response(status=204)


async def all_requests(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(request.app[QUEUE].recent)
    return _json({"requests": [_request_json(r) for r in found]})


# --- the table of endpoints -------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] | None  # None: no login needed
    changes_state: bool


ENDPOINTS = (
    Endpoint("POST", "/api/v1/auth/login", login, "Log in; sets the session cookie", None, False),
    Endpoint("POST", "/api/v1/auth/logout", logout, "Log out", STAFF, True),
    Endpoint("GET", "/api/v1/me", me, "The logged-in account", STAFF, False),
    Endpoint("PUT", "/api/v1/me/availability", set_availability, "Available for chats or not", STAFF, True),
    Endpoint("GET", "/api/v1/handoff/queue", queue, "Waiting requests I may take, oldest first", STAFF, False),
    Endpoint("POST", "/api/v1/handoff/requests/{request_id}/claim", claim, "Take a waiting request", STAFF, True),
    Endpoint("POST", "/api/v1/handoff/requests/{request_id}/return", hand_back, "Hand the conversation back to the bot", STAFF, True),
    Endpoint("POST", "/api/v1/handoff/requests/{request_id}/close", close, "Close with an outcome and notes", STAFF, True),
    Endpoint("POST", "/api/v1/handoff/requests/{request_id}/messages", send_message, "Write to the user", STAFF, True),
    Endpoint("GET", "/api/v1/handoff/requests/{request_id}/transcript", transcript, "The conversation so far", STAFF, False),
    Endpoint("GET", "/api/v1/handoff/requests", all_requests, "Recent requests in every state", OVERSEERS, False),
)  # fmt: skip


def _guarded(endpoint: Endpoint) -> Handler:
    """The handler behind the session, role and CSRF checks, with queue errors as 409."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if endpoint.roles is not None:
            found = await asyncio.to_thread(
                request.app[CONSOLE_SESSIONS].find, request.cookies.get(COOKIE)
            )
            if found is None:
                return _error(401, "not_logged_in", "log in first")
            agent, csrf = found
            if agent.role not in endpoint.roles:
                return _error(403, "wrong_role", "your role may not do this")
            if endpoint.changes_state and not csrf_matches(csrf, request.headers.get(CSRF_HEADER)):
                return _error(403, "csrf", f"missing or wrong {CSRF_HEADER} header")
            request[AGENT_KEY] = agent
        try:
            return await endpoint.handler(request)
        except QueueError as error:
            return _error(409, error.code, str(error))

    return guarded


async def openapi(request: web.Request) -> web.Response:
    """``GET /api/v1/openapi.json``: the API as an OpenAPI 3.0 document."""
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        operation: dict[str, Any] = {
            "summary": endpoint.summary,
            "responses": {"200": {"description": "OK"}, "204": {"description": "Done"}},
        }
        if endpoint.roles is not None:
            operation["security"] = [{"session": []}]
            operation["description"] = f"Roles: {', '.join(endpoint.roles)}." + (
                f" Needs the {CSRF_HEADER} header." if endpoint.changes_state else ""
            )
            operation["responses"].update(
                {
                    "401": {"description": "Not logged in"},
                    "403": {"description": "Wrong role or CSRF token"},
                }
            )
        if "{request_id}" in endpoint.path:
            operation["parameters"] = [
                {"name": "request_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ]
        if endpoint.method in ("POST", "PUT") and endpoint.handler in (
            login,
            set_availability,
            close,
        ):
            operation["requestBody"] = {
                "content": {"application/json": {"schema": {"type": "object"}}}
            }
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return _json(
        {
            "openapi": "3.0.3",
            "info": {"title": "Digituki handoff API", "version": "1"},
            "paths": paths,
            "components": {
                "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": COOKIE}}
            },
        }
    )


def add_routes(app: web.Application) -> None:
    for endpoint in ENDPOINTS:
        app.router.add_route(endpoint.method, endpoint.path, _guarded(endpoint))
    app.router.add_get("/api/v1/openapi.json", openapi)
