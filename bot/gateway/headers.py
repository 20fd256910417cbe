"""Which headers cross the gateway, and the ``X-Forwarded-*`` it adds.

Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection, not the message, so
they stop here, as do the headers a ``Connection`` header names.
"""

from __future__ import annotations

from collections.abc import Iterable

from multidict import CIMultiDict, MultiMapping

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# Not hop-by-hop, but the gateway decides them itself for the upstream: the client
# library sets Host and Content-Length from the URL and the (already read) body, and
# the gateway answers ``Expect: 100-continue`` itself.
_REQUEST_ONLY = frozenset({"host", "content-length", "expect"})
_FORWARDED = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})
# The WebSocket handshake is made anew between the gateway and the upstream.
_WEBSOCKET_HANDSHAKE = frozenset(
    {
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "sec-websocket-protocol",
        "sec-websocket-accept",
    }
)

Headers = MultiMapping[str]


def _named_in_connection(headers: Headers) -> set[str]:
    return {
        token.strip().lower()
        for value in headers.getall("Connection", ())
        for token in value.split(",")
        if token.strip()
    }


def _without(headers: Headers, dropped: Iterable[str]) -> CIMultiDict[str]:
    drop = set(dropped) | _named_in_connection(headers)
    return CIMultiDict(
        (name, value)
        for name, value in headers.items()
        if name.lower() not in drop and not name.lower().startswith("proxy-")
    )


def upstream_request_headers(
    headers: Headers,
    *,
    remote: str | None,
    scheme: str,
    host: str,
    websocket: bool = False,
) -> CIMultiDict[str]:
    """The client's headers as the upstream should get them, with ``X-Forwarded-*`` added.

    ``X-Forwarded-For`` keeps what a proxy in front of us put there and appends the
    client's address, so its last entry is the one the gateway saw itself.
    """
    dropped = HOP_BY_HOP | _REQUEST_ONLY | _FORWARDED
    if websocket:
        dropped |= _WEBSOCKET_HANDSHAKE
    forwarded = _without(headers, dropped)
    chain = [v.strip() for v in headers.getall("X-Forwarded-For", ()) if v.strip()]
    if remote:
        chain.append(remote)
    if chain:
        forwarded["X-Forwarded-For"] = ", ".join(chain)
    forwarded["X-Forwarded-Proto"] = scheme
    if host:
        forwarded["X-Forwarded-Host"] = host
    return forwarded


def client_response_headers(headers: Headers) -> CIMultiDict[str]:
    """The upstream's response headers as the client should get them (repeats kept)."""
    return _without(headers, HOP_BY_HOP)
