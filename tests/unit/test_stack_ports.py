"""The test stacks' ports: distinct, bindable, and away from outgoing connections' ports."""

from __future__ import annotations

import socket

import pytest

from bench import stack
from bench.stack import _ephemeral_range, free_port


def test_ports_are_distinct_bindable_and_outside_the_ephemeral_range() -> None:
    ephemeral = _ephemeral_range()
    ports = [free_port() for _ in range(40)]
    assert len(set(ports)) == len(ports)
    assert not [port for port in ports if port in ephemeral]
    for port in ports[:5]:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        monkeypatch.setattr(stack, "_ephemeral_range", lambda: range(0))
        monkeypatch.setattr(stack, "_LISTEN_PORTS", range(taken, taken + 2))
        monkeypatch.setattr(stack, "_handed_out", set())
        port = free_port()
        assert port != taken
        assert port == taken + 1 or port not in stack._LISTEN_PORTS  # the next, or the kernel's
