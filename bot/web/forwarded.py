"""The client's address behind proxies of ours: one rule for the web service and the widget.

Each proxy appends the address that connected to it to ``X-Forwarded-For``. With
``hops`` trusted proxies in front of a process (``DIGITUKI_PROXY_HOPS`` when
``DIGITUKI_TRUST_PROXY`` is on), the entry the outermost of them appended, ``hops``
from the right, is the client's. Entries left of it are whatever the client wrote:
never used, or a client could choose its own address and slip past a limit.
"""

from __future__ import annotations

from collections.abc import Iterable


def forwarded_client(forwarded_for: Iterable[str], hops: int) -> str | None:
    """The client's entry of the ``X-Forwarded-For`` headers, or ``None`` if it is not there.

    ``forwarded_for`` is every ``X-Forwarded-For`` header of the request, in order
    (several headers count as one list). ``None`` when ``hops`` is 0 or the list is
    shorter than ``hops``: then the socket's peer is the client.
    """
    if hops < 1:
        return None
    entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    entries = [entry for entry in entries if entry]
    return entries[-hops] if len(entries) >= hops else None
