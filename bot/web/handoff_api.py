"""The handoff API for the console of digital support workers (``/api/v1``).

Every endpoint but login, the labels and the OpenAPI document needs a logged-in
session (cookie ``digituki_session``), the right role, and for anything that changes
state the session's CSRF token in ``X-CSRF-Token``. Requests are seen and changed
only within the account's scope (:mod:`bot.handoff.access`): listings hold only
those, and a request outside it answers 403 ``out_of_scope``. Login takes only a
JSON body from the web service's own pages (no login CSRF). Database work runs
in a worker thread. The routes and their rules are listed once, in :data:`ENDPOINTS`;
the OpenAPI document is built from that list, so it cannot drift.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict
from typing import Any

from aiohttp import web

from bot.handoff import Agent, HandoffRequest, QueueError
from bot.handoff.access import OutOfScopeError
from bot.handoff.queue import OUTCOMES
from bot.handoff.rasa_client import RasaUnavailableError
from bot.handoff.sessions import csrf_matches
from bot.web import providers_api, reports_api, staff_pages
from bot.web.api_common import (
    AGENT_KEY,
    CSRF_KEY,
    Endpoint,
    Handler,
    error_response,
    json_response,
    object_schema,
    read_json,
    same_origin,
)
from bot.web.forwarded import forwarded_client
from bot.web.handoff_views import OVERSEERS, message_view, request_view
from bot.web.keys import (
    AGENTS,
    CONSOLE_SESSIONS,
    EVENTS,
    GAZETTEER,
    HUB,
    LOGIN_THROTTLE,
    QUEUE,
    RASA,
    SETTINGS,
)
from bot.web.throttle import LoginThrottled

COOKIE = "digituki_session"
CSRF_HEADER = "X-CSRF-Token"
STAFF = ("worker", "coordinator", "admin")

MAX_MESSAGE = 2000
MAX_NOTES = 4000


def _agent_json(agent: Agent) -> dict[str, Any]:
    return asdict(agent)


def _view(request: web.Request, handoff: HandoffRequest) -> dict[str, Any]:
    return request_view(handoff, request[AGENT_KEY], request.app[GAZETTEER])


def client_address(request: web.Request) -> str:
    """The client's address, for the login throttle.

    Without ``DIGITUKI_TRUST_PROXY`` the socket's peer. Behind trusted proxies,
    the ``X-Forwarded-For`` entry the outermost of the ``DIGITUKI_PROXY_HOPS``
    proxies appended: the n-th from the right. Entries left of it are whatever the
    client wrote and are never used; with fewer entries than hops, the peer.
    """
    settings = request.app[SETTINGS]
    hops = settings.proxy_hops if settings.trust_proxy else 0
    client = forwarded_client(request.headers.getall("X-Forwarded-For", []), hops)
    return (client or request.remote or "unknown")[:64]


def is_https(request: web.Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a trusted proxy)."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return request.app[SETTINGS].trust_proxy and proto == "https"


# --- handlers -------------------------------------------------------------------------


async def login(request: web.Request) -> web.Response:
    """Checks the password; only a JSON body from our own origin (no login CSRF).

    The attempt counts before the password is checked, so parallel guesses cannot
    outrun the throttle, and one name's checks take turns; a right password forgets it.
    """
    if not same_origin(request, request.app[SETTINGS].trust_proxy):
        return error_response(403, "bad_origin", "log in from the web service's own pages")
    if request.content_type != "application/json":
        return error_response(
            415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"
        )
    body = await read_json(request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        return error_response(400, "bad_request", "username and password are required")
    if len(username) > 200 or len(password) > 1000:
        return error_response(401, "bad_credentials", "wrong username or password")
    throttle = request.app[LOGIN_THROTTLE]
    try:
        attempt = throttle.begin(username, client_address(request))
    except LoginThrottled as throttled:
        response = error_response(429, "too_many_attempts", str(throttled))
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    async with throttle.turn(attempt):
        agent = await asyncio.to_thread(request.app[AGENTS].authenticate, username, password)
    if agent is None:
        return error_response(401, "bad_credentials", "wrong username or password")
    throttle.succeeded(attempt)
    token, csrf = await asyncio.to_thread(request.app[CONSOLE_SESSIONS].open, agent)
    response = json_response({"agent": _agent_json(agent), "csrf_token": csrf})
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=is_https(request),
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
    """The account, and the session's CSRF token (a reloaded console page needs it again)."""
    return json_response({**_agent_json(request[AGENT_KEY]), "csrf_token": request[CSRF_KEY]})


async def set_availability(request: web.Request) -> web.Response:
    body = await read_json(request)
    if not isinstance(body.get("available"), bool):
        return error_response(400, "bad_request", "available must be true or false")
    agent = request[AGENT_KEY]
    await asyncio.to_thread(request.app[AGENTS].set_available, agent.id, body["available"])
    request.app[HUB].queue_changed()
    return json_response({"available": body["available"]})


async def queue(request: web.Request) -> web.Response:
    waiting = await asyncio.to_thread(request.app[QUEUE].waiting_for, request[AGENT_KEY])
    return json_response({"waiting": [_view(request, r) for r in waiting]})


async def mine(request: web.Request) -> web.Response:
    active = await asyncio.to_thread(request.app[QUEUE].active_of, request[AGENT_KEY])
    return json_response({"active": [_view(request, r) for r in active]})


async def callbacks(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(request.app[QUEUE].callbacks_for, request[AGENT_KEY])
    return json_response({"callbacks": [_view(request, r) for r in found]})


async def claim(request: web.Request) -> web.Response:
    taken = await asyncio.to_thread(
        request.app[QUEUE].claim, request[AGENT_KEY], request.match_info["request_id"]
    )
    request.app[HUB].queue_changed()
    if taken.kind == "chat":
        rasa = request.app[RASA]
        try:
            # The person is told who answers now, then the bot falls silent.
            await rasa.worker_joined(
                taken.conversation_id, request[AGENT_KEY].display_name, taken.channel
            )
            await rasa.pause(taken.conversation_id)
        except RasaUnavailableError as error:
            return error_response(
                502, "rasa_unavailable", f"claimed, but the bot could not be paused: {error}"
            )
    return json_response(_view(request, taken))


async def hand_back(request: web.Request) -> web.Response:
    request_id, agent = request.match_info["request_id"], request[AGENT_KEY]
    found = await asyncio.to_thread(request.app[QUEUE].get_for, agent, request_id)
    await asyncio.to_thread(request.app[QUEUE].hand_back, agent, request_id)
    request.app[HUB].queue_changed()
    if found is not None and found.kind == "chat":
        try:
            await request.app[RASA].resume(found.conversation_id, found.channel)
        except RasaUnavailableError as error:
            return error_response(
                502, "rasa_unavailable", f"handed back, but the bot did not answer: {error}"
            )
    return web.Response(status=204)


async def _own_active(request: web.Request) -> HandoffRequest:
    """The request of the path, if the logged-in worker has it now."""
    agent = request[AGENT_KEY]
    found = await asyncio.to_thread(
        request.app[QUEUE].get_for, agent, request.match_info["request_id"]
    )
    if found is None or found.state != "active" or found.claimed_by != agent.id:
        raise QueueError("not_yours", "only the worker who has the chat can write in it")
    return found


async def send_message(request: web.Request) -> web.Response:
    body = await read_json(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE:
        return error_response(400, "bad_request", f"text is 1–{MAX_MESSAGE} characters")
    handoff = await _own_active(request)
    agent = request[AGENT_KEY]
    try:
        await request.app[RASA].send_worker_message(
            handoff.conversation_id, text.strip(), agent.display_name, handoff.channel
        )
    except RasaUnavailableError as error:
        return error_response(502, "rasa_unavailable", f"not delivered, try again: {error}")
    return web.Response(status=204)


async def transcript(request: web.Request) -> web.Response:
    """The conversation's messages from the stored event stream (also while Rasa restarts)."""
    agent = request[AGENT_KEY]
    found = await asyncio.to_thread(
        request.app[QUEUE].get_for, agent, request.match_info["request_id"]
    )
    if found is None or (found.claimed_by != agent.id and agent.role not in OVERSEERS):
        raise QueueError("not_yours", "the transcript is for the worker who has the chat")
    lines = await asyncio.to_thread(request.app[EVENTS].of_conversation, found.conversation_id)
    return json_response(
        {"request": _view(request, found), "messages": [message_view(e) for e in lines]}
    )


async def notes(request: web.Request) -> web.Response:
    body = await read_json(request)
    text = body.get("notes")
    if not isinstance(text, str) or len(text) > MAX_NOTES:
        return error_response(
            400, "bad_request", f"notes are text of at most {MAX_NOTES} characters"
        )
    await asyncio.to_thread(
        request.app[QUEUE].set_notes, request[AGENT_KEY], request.match_info["request_id"], text
    )
    return web.Response(status=204)


async def close(request: web.Request) -> web.Response:
    body = await read_json(request)
    outcome, notes = body.get("outcome"), body.get("notes")
    if not isinstance(outcome, str) or (notes is not None and not isinstance(notes, str)):
        return error_response(
            400, "bad_request", f"outcome is one of {', '.join(OUTCOMES)}; notes is text"
        )
    if notes is not None and len(notes) > MAX_NOTES:
        return error_response(
            400, "bad_request", f"notes are text of at most {MAX_NOTES} characters"
        )
    await asyncio.to_thread(
        request.app[QUEUE].close,
        request[AGENT_KEY],
        request.match_info["request_id"],
        outcome,
        notes,
    )
    request.app[HUB].queue_changed()
    return web.Response(status=204)


async def all_requests(request: web.Request) -> web.Response:
    found = await asyncio.to_thread(request.app[QUEUE].recent, request[AGENT_KEY])
    return json_response({"requests": [_view(request, r) for r in found]})


async def socket(request: web.Request) -> web.StreamResponse:
    """The console's live updates: the queue and the messages of the worker's chats."""
    return await request.app[HUB].connect(request, request[AGENT_KEY])


# --- the table of endpoints -------------------------------------------------------------


_TEXT = {"type": "string"}
LOGIN_BODY = object_schema(("username", "password"), username=_TEXT, password=_TEXT)
AVAILABILITY_BODY = object_schema(("available",), available={"type": "boolean"})
MESSAGE_BODY = object_schema(
    ("text",), text={"type": "string", "minLength": 1, "maxLength": MAX_MESSAGE}
)
NOTES_BODY = object_schema(("notes",), notes={"type": "string", "maxLength": MAX_NOTES})
CLOSE_BODY = object_schema(
    ("outcome",),
    outcome={"type": "string", "enum": list(OUTCOMES)},
    notes={"type": "string", "maxLength": MAX_NOTES},
)


REQUEST = "/api/v1/handoff/requests/{request_id}"
ENDPOINTS = (
    Endpoint("POST", "/api/v1/auth/login", login, "Log in; sets the session cookie", None, False, LOGIN_BODY),
    Endpoint("POST", "/api/v1/auth/logout", logout, "Log out", STAFF, True),
    Endpoint("GET", "/api/v1/me", me, "The logged-in account and the session's CSRF token", STAFF, False),
    Endpoint("PUT", "/api/v1/me/availability", set_availability, "Available for chats or not", STAFF, True, AVAILABILITY_BODY),
    Endpoint("GET", "/api/v1/handoff/queue", queue, "Waiting requests I may take, oldest first", STAFF, False),
    Endpoint("GET", "/api/v1/handoff/mine", mine, "My chats now", STAFF, False),
    Endpoint("GET", "/api/v1/handoff/callbacks", callbacks, "Call-back requests of the last two weeks I may see", STAFF, False),
    Endpoint("POST", f"{REQUEST}/claim", claim, "Take a waiting request", STAFF, True),
    Endpoint("POST", f"{REQUEST}/return", hand_back, "Hand the conversation back to the bot", STAFF, True),
    Endpoint("POST", f"{REQUEST}/close", close, "Close with an outcome and notes", STAFF, True, CLOSE_BODY),
    Endpoint("POST", f"{REQUEST}/messages", send_message, "Write to the user", STAFF, True, MESSAGE_BODY),
    Endpoint("PUT", f"{REQUEST}/notes", notes, "The worker's notes on the chat", STAFF, True, NOTES_BODY),
    Endpoint("GET", f"{REQUEST}/transcript", transcript, "The conversation so far", STAFF, False),
    Endpoint("GET", "/api/v1/handoff/requests", all_requests, "Recent requests in every state in my languages and regions", OVERSEERS, False),
    Endpoint("GET", "/api/v1/console/socket", socket, "WebSocket of live updates (queue, messages of my chats)", STAFF, False),
    Endpoint("GET", "/api/v1/reports", reports_api.reports, "Need and supply in my regions: rows and totals", OVERSEERS, False, None, tuple(reports_api.QUERY)),
    Endpoint("GET", "/api/v1/providers", providers_api.list_providers, "Providers of my regions (q: words of id, name or municipality)", OVERSEERS, False, None, providers_api.LIST_QUERY),
    Endpoint("GET", providers_api.PROVIDER, providers_api.get_provider, "One provider's fields (the import format)", OVERSEERS, False),
    Endpoint("PUT", providers_api.PROVIDER, providers_api.edit_provider, "Change fields; validated like an import row; 409 when changed since the version read", OVERSEERS, True, providers_api.EDIT_BODY),
    Endpoint("PUT", f"{providers_api.PROVIDER}/active", providers_api.set_active, "Deactivate or activate again", OVERSEERS, True, providers_api.ACTIVE_BODY),
    Endpoint("POST", "/api/v1/providers/upload", providers_api.upload, "Preview (or apply) a CSV or YAML file of providers", OVERSEERS, True, None, providers_api.UPLOAD_QUERY),
    Endpoint("GET", "/api/v1/reports.csv", reports_api.reports_csv, "The report's rows as CSV", OVERSEERS, False, None, tuple(reports_api.QUERY), "text/csv"),
    Endpoint("GET", "/api/v1/labels", staff_pages.labels, "Names of topics, support forms and languages as people read them, each [fi, sv, en] (data/labels.yml)", None, False),
)  # fmt: skip


def _guarded(endpoint: Endpoint) -> Handler:
    """The handler behind the session, role and CSRF checks.

    A request outside the account's scope is a 403, other queue errors a 409.
    """

    async def guarded(request: web.Request) -> web.StreamResponse:
        if endpoint.roles is not None:
            found = await asyncio.to_thread(
                request.app[CONSOLE_SESSIONS].find, request.cookies.get(COOKIE)
            )
            if found is None:
                return error_response(401, "not_logged_in", "log in first")
            agent, csrf = found
            if agent.role not in endpoint.roles:
                return error_response(403, "wrong_role", "your role may not do this")
            if endpoint.changes_state and not csrf_matches(csrf, request.headers.get(CSRF_HEADER)):
                return error_response(403, "csrf", f"missing or wrong {CSRF_HEADER} header")
            request[AGENT_KEY] = agent
            request[CSRF_KEY] = csrf
        try:
            return await endpoint.handler(request)
        except OutOfScopeError as error:
            return error_response(403, error.code, str(error))
        except QueueError as error:
            return error_response(409, error.code, str(error))

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
        if endpoint.produces != "application/json":
            operation["responses"]["200"] = {
                "description": "OK",
                "content": {endpoint.produces: {"schema": {"type": "string"}}},
            }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"\{(\w+)\}", endpoint.path)
        ] + list(endpoint.query)
        if parameters:
            operation["parameters"] = parameters
        if endpoint.query:
            operation["responses"]["400"] = {"description": "Bad query parameter"}
        if endpoint.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": endpoint.body}},
            }
            operation["responses"]["400"] = {"description": "Bad request body"}
        if endpoint.handler is login:
            operation["responses"].update(
                {
                    "403": {"description": "From another site's page (Origin)"},
                    "415": {"description": "Not a JSON body"},
                    "429": {"description": "Too many failed attempts"},
                }
            )
        if endpoint.path.startswith(REQUEST):
            operation["responses"]["403"] = {
                "description": "Wrong role or CSRF token, or outside my languages and regions"
            }
            operation["responses"]["409"] = {"description": "Not allowed in the request's state"}
        if endpoint.handler in (claim, hand_back, send_message):
            operation["responses"]["502"] = {"description": "The Rasa server did not answer"}
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = operation
    return json_response(
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
