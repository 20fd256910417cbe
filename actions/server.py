"""The action server, answering only the Rasa server: ``python -m actions.server``.

Usage::

    python -m actions.server [--host H] [--port P] [--logging-config-file F] [-v | -vv | --quiet]

It serves rasa_sdk 3.6's own app (``rasa_sdk.endpoint.create_app``) with the
``actions`` package, as ``rasa run actions --actions actions`` does: the same
routes (``/health``, ``/actions``, ``/webhook``), the same logging set-up (the
``--logging-config-file`` that ``python -m bot.ops.run`` writes), the package's
process-wide set-up on import (:mod:`actions`: log masking, action metrics, the
side server). On top of that, every request goes through these checks, in order:

1. ``Authorization: Bearer <DIGITUKI_ACTION_TOKEN>`` (or, while the token is
   rotated, ``DIGITUKI_ACTION_TOKEN_PREVIOUS``; constant-time comparison), for
   every request but ``GET /health``, before the request is routed or its body
   read; else 401.
2. ``POST /webhook`` only: ``Content-Type: application/json`` and a
   ``Content-Encoding`` of none, ``identity``, ``deflate`` or ``gzip``; else 415.
3. The body as sent: at most :data:`MAX_BODY_BYTES` (Sanic's
   ``REQUEST_MAX_SIZE``); else 413.
4. A compressed body (Rasa sends ``Content-Encoding: deflate`` when the Rasa
   server has ``COMPRESS_ACTION_SERVER_REQUEST=true``): inflated to at most
   :data:`MAX_JSON_BYTES`, incrementally; else 413. rasa_sdk's own unbounded
   ``zlib.decompress`` never sees it.
5. rasa_sdk parses the JSON and runs the action.

Error answers are a small ``{"error": "..."}``: never the request body, an
exception's message or a traceback (rasa_sdk 3.6 answers an exception with the
whole request body and the exception's text). The details go to the log, which
:mod:`bot.privacy` masks. rasa_sdk's 400 for an action that rejected its
execution is kept: the Rasa server reads its ``action_name``.

Environment variables:

===================================  ====================================================
``DIGITUKI_ACTION_TOKEN``            The shared secret the Rasa server sends
                                     (``endpoints.yml``). Required: without it the
                                     server does not start (exit 2).
``DIGITUKI_ACTION_TOKEN_PREVIOUS``   Optional: the token before the current one, also
                                     accepted while the Rasa servers are restarted with
                                     the new one (``docs/security.md``).
``DIGITUKI_ACTION_HOST``             The interface to listen on (default ``127.0.0.1``;
                                     ``--host`` wins). ``SANIC_HOST`` is not read.
``DIGITUKI_ACTION_SERVER_URL``       Its port is the default ``--port`` (else 5055).
``SANIC_WORKERS``                    Sanic worker processes, as for rasa_sdk (default 1).
``DIGITUKI_METRICS_PORT``,           Read by :mod:`actions` on import: the side server
``DIGITUKI_DATABASE_URL``, ...       with ``/ready`` and ``/metrics``
                                     (``bot.observability``), the services' settings.
===================================  ====================================================

Nothing happens when this module is imported: rasa_sdk imports every module of
the ``actions`` package when it registers the actions.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import zlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge, SanicException, Unauthorized
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.observability import ErrorCountingHandler, bearer_matches, count_log_errors

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MAX_BODY_BYTES",
    "MAX_JSON_BYTES",
    "create_server_app",
    "inflate",
    "main",
]

log = logging.getLogger("actions.server")  # also when run as __main__

TOKEN_ENV = "DIGITUKI_ACTION_TOKEN"
PREVIOUS_TOKEN_ENV = "DIGITUKI_ACTION_TOKEN_PREVIOUS"
HOST_ENV = "DIGITUKI_ACTION_HOST"
URL_ENV = "DIGITUKI_ACTION_SERVER_URL"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
ACTIONS_PACKAGE = "actions"

MAX_BODY_BYTES = 1024 * 1024
"""The largest body accepted as sent. A Rasa action call is the tracker of the
current session and the domain (ours is about 40 KB): a long conversation is a few
hundred KB."""
MAX_JSON_BYTES = 8 * 1024 * 1024
"""The largest action call a compressed body may inflate to."""

OPEN_ROUTES = frozenset({("GET", "/health")})
"""What may be asked without the token: the probes of the launcher and of HAProxy."""
WEBHOOK = "/webhook"
_WBITS = {"deflate": zlib.MAX_WBITS, "gzip": 16 + zlib.MAX_WBITS}
"""zlib's window bits per ``Content-Encoding``: ``deflate`` is the zlib format
(RFC 9110 §8.4.1.2), which aiohttp's ``compress=True`` sends and rasa_sdk reads."""
_IDENTITY = ("", "identity")

# The words of the error answers; nothing in them comes from the request.
_ERRORS = {
    400: "bad request",
    401: "unauthorized",
    404: "not found",
    405: "method not allowed",
    408: "request timeout",
    413: "request body too large",
    415: "unsupported media type",
    500: "internal error",
    503: "service unavailable",
}


class UnsupportedMediaType(SanicException):
    """A body that is not JSON, or compressed in a way we do not read."""

    status_code = 415
    quiet = True


class BadCompressedBody(SanicException):
    """A compressed body that does not inflate (corrupt, cut short, trailing bytes)."""

    status_code = 400
    quiet = True


def inflate(body: bytes, encoding: str, limit: int = MAX_JSON_BYTES) -> bytes:
    """``body`` decompressed (``deflate`` or ``gzip``), refused once it passes ``limit`` bytes.

    Incremental, with ``max_length``: a bomb costs ``limit`` bytes of memory, not
    what it would inflate to.

    Raises:
        PayloadTooLarge: the content is longer than ``limit``.
        BadCompressedBody: ``body`` is not one whole compressed stream.
    """
    inflater = zlib.decompressobj(_WBITS[encoding])
    try:
        content = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise BadCompressedBody("the compressed body does not inflate") from None
    if len(content) > limit:
        raise PayloadTooLarge(f"the body inflates to more than {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise BadCompressedBody("the compressed body is cut short or followed by other data")
    return content


def _authorized(request: Request, tokens: Sequence[str]) -> bool:
    """``Authorization: Bearer`` one of ``tokens``; each is compared, in constant time."""
    header = request.headers.getone("authorization", "")
    if not header.startswith("Bearer "):
        return False
    try:
        return any([bearer_matches(header, token) for token in tokens])
    except UnicodeError:  # Sanic keeps undecodable header bytes as surrogates
        return False


def _is_webhook(request: Request) -> bool:
    """Routed to rasa_sdk's ``/webhook`` (Sanic routes ``/webhook/`` there too)."""
    route = getattr(request, "route", None)
    return route is not None and route.path == WEBHOOK.strip("/")


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _error_response(request: Request | None, exception: BaseException) -> HTTPResponse:
    """The answer to every exception of a request: its status and a word; details in the log."""
    method = getattr(request, "method", "?")
    path = getattr(request, "path", "?")
    status = 500
    headers: dict[str, str] = {}
    if isinstance(exception, SanicException):
        status = int(exception.status_code or 500)
        # WWW-Authenticate of a 401, Allow of a 405: made by us or by Sanic's router.
        headers = {str(k): str(v) for k, v in (getattr(exception, "headers", None) or {}).items()}
    if status >= 500:
        log.error("%s %s failed", method, path, exc_info=exception)
    elif status == 401:
        log.warning("refused %s %s: no valid token", method, path)
    else:
        log.info("refused %s %s: %d (%s)", method, path, status, exception)
    message = _ERRORS.get(status, "bad request" if status < 500 else "internal error")
    return response.json({"error": message}, status=status, headers=headers)


def create_server_app(
    token: str, previous_token: str = "", package: str = ACTIONS_PACKAGE
) -> Sanic:
    """rasa_sdk's app for ``package`` (its actions registered), behind the checks above.

    ``token`` must not be empty; ``previous_token``, if given, is accepted too. One
    per process: Sanic names its apps.
    """
    if not token:
        raise ValueError("the action server needs a token")
    tokens = (token, previous_token) if previous_token else (token,)
    # No CORS: the Rasa server calls the action server, never a browser.
    app = create_app(package, cors_origins="")
    app.config.REQUEST_MAX_SIZE = MAX_BODY_BYTES

    # Replaces rasa_sdk's handler, which answers with the request body and the error.
    app.error_handler.add(Exception, _error_response)

    async def refuse_strangers(request: Request, **_: Any) -> None:
        """Before routing, so neither the body nor the list of routes is open to strangers."""
        if (request.method, request.path) in OPEN_ROUTES:
            return
        if not _authorized(request, tokens):
            raise Unauthorized("no valid action server token", scheme="Bearer")

    async def check_webhook_headers(request: Request, **_: Any) -> None:
        """Before the body is read: only JSON, compressed in a way :func:`inflate` reads."""
        if request.method != "POST" or not _is_webhook(request):
            return
        if _media_type(request.headers.getone("content-type", "")) != "application/json":
            raise UnsupportedMediaType("the action call must be application/json")
        encoding = _media_type(request.headers.getone("content-encoding", ""))
        if encoding not in _IDENTITY and encoding not in _WBITS:
            raise UnsupportedMediaType(f"Content-Encoding {encoding!r} is not read here")

    async def inflate_body(request: Request) -> None:
        """A compressed body, inflated within :data:`MAX_JSON_BYTES`, for rasa_sdk to parse.

        The header goes first: Sanic runs request middleware again for an error
        answer, and rasa_sdk would inflate a ``deflate`` body again without a limit.
        """
        encoding = _media_type(request.headers.getone("content-encoding", ""))
        if encoding not in _WBITS:
            return
        request.headers.popall("content-encoding", None)
        if request.body:
            request.body = inflate(request.body, encoding)

    async def hide_unknown_action(request: Request, answer: HTTPResponse) -> HTTPResponse | None:
        """rasa_sdk's 404 names the unknown action of the body; Rasa reads only the status."""
        if answer.status == 404 and _is_webhook(request):
            return response.json({"error": "unknown action"}, status=404)
        return None

    app.signal("http.routing.before")(refuse_strangers)
    app.signal("http.routing.after")(check_webhook_headers)
    app.register_middleware(inflate_body, "request")
    app.register_middleware(hide_unknown_action, "response")
    return app


def _default_port(environ: Mapping[str, str]) -> int:
    url = environ.get(URL_ENV, "").strip()
    if not url:
        return DEFAULT_PORT
    try:
        port = urlsplit(url).port
    except ValueError:
        raise ValueError(f"{URL_ENV}={url!r}: the port is not a number") from None
    return port or DEFAULT_PORT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m actions.server",
        description="The action server (rasa_sdk), answering only requests with "
        f"Authorization: Bearer ${TOKEN_ENV}.",
    )
    parser.add_argument(
        "--host",
        help=f"the interface to listen on (default: ${HOST_ENV}, else {DEFAULT_HOST})",
    )
    parser.add_argument(
        "--port",
        type=int,
        help=f"the port (default: the port of ${URL_ENV}, else {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--logging-config-file",
        help="a logging.config.dictConfig file in YAML (bot.logs.write_logging_config)",
    )
    utils.add_logging_level_option_arguments(parser)  # -v, -vv, --quiet, as rasa_sdk
    return parser


def _configure_logging(loglevel: int, config_file: str | None) -> None:
    """What rasa_sdk's ``main_from_args`` does, keeping the error counter of :mod:`actions`.

    ``python -m`` imports the ``actions`` package before this runs (``rasa run
    actions`` imported it after), and a config file replaces the root logger's
    handlers, the ``digituki_log_errors`` counter among them.
    """
    counted = any(isinstance(h, ErrorCountingHandler) for h in logging.getLogger().handlers)
    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), None, loglevel, config_file
    )
    utils.update_sanic_log_level()
    if counted:
        count_log_errors()


def main(argv: Sequence[str] | None = None) -> int:
    """Checks the settings, then serves until stopped; 2 when the settings are unusable."""
    args = _parser().parse_args(argv)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        print(
            f"actions.server: {TOKEN_ENV} is not set: the action server answers only the "
            f"Rasa server, which sends it (endpoints.yml); not starting",
            file=sys.stderr,
        )
        return 2
    host = (args.host or os.environ.get(HOST_ENV, "")).strip() or DEFAULT_HOST
    try:
        port = args.port if args.port is not None else _default_port(os.environ)
    except ValueError as error:
        print(f"actions.server: {error}", file=sys.stderr)
        return 2

    _configure_logging(args.loglevel, args.logging_config_file)
    log.info("Starting action endpoint server...")
    app = create_server_app(token, os.environ.get(PREVIOUS_TOKEN_ENV, "").strip())
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    log.info("Action endpoint is up and running on http://%s:%d", host, port)
    app.run(host, port, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    sys.exit(main())
