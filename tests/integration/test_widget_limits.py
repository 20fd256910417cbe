"""The widget channel's limits on a real Sanic server, over real WebSockets.

Messages are counted per conversation (a reconnect does not start the count again) and
new conversations per client address: the socket's peer, or behind trusted proxies the
``X-Forwarded-For`` entry the outermost one appended. The counters themselves are pure
and tested here too: their memory stays bounded however many keys come.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from sanic import Sanic

from connectors.widget import TRY_AGAIN_LATER, WidgetInput
from connectors.widget_limits import Limits, SlidingWindow, TrustedProxies, address_key
from tests.integration.test_widget_channel import ORIGIN, EchoBot, Widget


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(
    limits: Limits | None = None, proxies: TrustedProxies | None = None
) -> AsyncIterator[str]:
    """The widget channel on a real server; yields its WebSocket URL."""
    Sanic.test_mode = True
    app = Sanic(f"widget-limits-{_free_port()}")
    channel = WidgetInput([ORIGIN], limits or Limits(), proxies=proxies)
    app.blueprint(channel.blueprint(EchoBot()), url_prefix="/webhooks/widget")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
    )
    assert running is not None
    await running.startup()
    try:
        yield f"http://127.0.0.1:{port}/webhooks/widget/websocket"
    finally:
        running.close()
        await running.wait_closed()


@asynccontextmanager
async def client_at(address: str = "127.0.0.1") -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client whose connections come from ``address`` (any of 127.0.0.0/8)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def open_widget(
    session: aiohttp.ClientSession, url: str, forwarded_for: str | None = None
) -> Widget:
    headers = {"Origin": ORIGIN}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return Widget(await session.ws_connect(url, headers=headers))


async def start_conversation(
    widget: Widget, session_id: str | None = None, last_seq: int = 0
) -> dict[str, Any]:
    """``hello``, and what came first: ``welcome``, or the ``error`` that refused it."""
    await widget.send(
        type="hello", session_id=session_id, last_seq=last_seq, language="fi", page_url=ORIGIN
    )
    while True:
        frame = await widget.receive()
        if frame["type"] in ("welcome", "error"):
            return frame


async def assert_refused_and_closed(widget: Widget, first: dict[str, Any]) -> None:
    assert first["type"] == "error" and first["code"] == "too_many_sessions"
    assert first["message"]
    closing = await widget.ws.receive(timeout=5)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert widget.ws.close_code == TRY_AGAIN_LATER


# --------------------------------------------------------------------------- messages


async def test_reconnecting_does_not_start_the_message_count_again() -> None:
    async with serve(Limits(messages_per_window=10, window_s=10)) as url, client_at() as http:
        widget = await open_widget(http, url)
        session_id = (await start_conversation(widget))["session_id"]
        last_seq = (await widget.receive("message"))["seq"]  # the greeting is not counted
        for n in range(6):
            await widget.send(type="message", text=f"first {n}", id=f"a{n}")
            last_seq = (await widget.receive("message"))["seq"]
        await widget.ws.close()

        widget = await open_widget(http, url)  # the same conversation, a new socket
        welcome = await start_conversation(widget, session_id, last_seq)
        assert welcome["session_id"] == session_id
        for n in range(4):
            await widget.send(type="message", text=f"second {n}", id=f"b{n}")
            assert (await widget.receive("message"))["text"] == f"echo: second {n}"
        await widget.send(type="message", text="the eleventh", id="c0")
        refused = await widget.receive("error")
        assert (refused["code"], refused["id"]) == ("rate_limited", "c0")

        # A message the widget sends again after a reconnect is not counted twice.
        await widget.send(type="message", text="second 3", id="b3")
        assert (await widget.receive())["type"] == "handled"


async def test_another_conversation_has_its_own_message_count() -> None:
    async with serve(Limits(messages_per_window=2, window_s=10)) as url, client_at() as http:
        first = await open_widget(http, url)
        await start_conversation(first)
        await first.receive("message")  # the greeting
        for n in range(2):
            await first.send(type="message", text=f"m{n}")
            await first.receive("message")
        await first.send(type="message", text="m2")
        assert (await first.receive("error"))["code"] == "rate_limited"

        second = await open_widget(http, url)
        await start_conversation(second)
        await second.receive("message")
        await second.send(type="message", text="hello")
        assert (await second.receive("message"))["text"] == "echo: hello"


# --------------------------------------------------------------------------- new conversations


async def test_the_eleventh_new_conversation_from_one_address_is_refused_another_address_is_not() -> (
    None
):
    async with serve() as url:  # the defaults: 10 new conversations per address a minute
        async with client_at("127.0.0.1") as http:
            started = []
            for _ in range(10):
                widget = await open_widget(http, url)
                started.append((await start_conversation(widget))["session_id"])
                await widget.ws.close()
            assert len(set(started)) == 10

            widget = await open_widget(http, url)
            await assert_refused_and_closed(widget, await start_conversation(widget))

            # A made-up id is a new conversation too, and is refused the same way.
            widget = await open_widget(http, url)
            refused = await start_conversation(widget, "0123456789abcdef0123456789abcdef")
            await assert_refused_and_closed(widget, refused)

            # Going on with a conversation the server knows is never refused.
            widget = await open_widget(http, url)
            assert (await start_conversation(widget, started[0]))["session_id"] == started[0]
            await widget.send(type="restart")  # a new one, over the cap: the old one stays
            await assert_refused_and_closed(widget, await widget.receive("error"))
            widget = await open_widget(http, url)
            assert (await start_conversation(widget, started[0]))["session_id"] == started[0]

        async with client_at("127.0.0.2") as elsewhere:
            widget = await open_widget(elsewhere, url)
            assert (await start_conversation(widget))["type"] == "welcome"


@pytest.mark.parametrize(
    ("hops", "chain"),
    [
        (1, "{spoofed}, 203.0.113.7"),  # the last entry is the one our proxy appended
        (2, "{spoofed}, 203.0.113.7, 10.0.0.5"),  # a TLS proxy (10.0.0.5) before HAProxy
    ],
)
async def test_a_spoofed_first_forwarded_for_entry_does_not_get_around_the_cap(
    hops: int, chain: str
) -> None:
    async with serve(proxies=TrustedProxies(hops)) as url, client_at() as http:
        for n in range(10):
            widget = await open_widget(http, url, chain.format(spoofed=f"198.51.100.{n}"))
            assert (await start_conversation(widget))["type"] == "welcome"
            await widget.ws.close()
        widget = await open_widget(http, url, chain.format(spoofed="198.51.100.200"))
        await assert_refused_and_closed(widget, await start_conversation(widget))

        # Another client behind the same proxies (the same socket peer) is not refused.
        other = chain.format(spoofed="198.51.100.1").replace("203.0.113.7", "203.0.113.8")
        widget = await open_widget(http, url, other)
        assert (await start_conversation(widget))["type"] == "welcome"


async def test_without_trusted_proxies_the_forwarded_for_header_is_not_believed() -> None:
    async with serve(Limits(new_sessions_per_address=1)) as url, client_at() as http:
        widget = await open_widget(http, url, "203.0.113.1")
        assert (await start_conversation(widget))["type"] == "welcome"
        widget = await open_widget(http, url, "203.0.113.2")  # still 127.0.0.1 to us
        await assert_refused_and_closed(widget, await start_conversation(widget))


def test_the_proxy_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGITUKI_TRUST_PROXY", raising=False)
    monkeypatch.setenv("DIGITUKI_PROXY_HOPS", "2")
    assert WidgetInput.from_credentials({}).proxies.hops == 0  # nothing trusted by default
    monkeypatch.setenv("DIGITUKI_TRUST_PROXY", "true")
    assert WidgetInput.from_credentials({}).proxies.hops == 2
    monkeypatch.delenv("DIGITUKI_PROXY_HOPS")
    assert WidgetInput.from_credentials({}).proxies.hops == 1


def test_the_caps_can_be_set_in_the_credentials() -> None:
    channel = WidgetInput.from_credentials(
        {"new_sessions_per_address": 0, "messages_per_window": "20"}
    )
    assert (channel.limits.new_sessions_per_address, channel.limits.messages_per_window) == (0, 20)
    with pytest.raises(ValueError, match="new_sessions_per_address"):
        WidgetInput.from_credentials({"new_sessions_per_address": "lots"})


# --------------------------------------------------------------------------- the counters


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sliding_window_allows_the_limit_then_again_when_the_window_has_passed() -> None:
    clock = Clock()
    window = SlidingWindow(3, 10.0, max_keys=100, clock=clock)
    assert [window.allow("a") for _ in range(4)] == [True, True, True, False]
    assert window.allow("b")  # each key has its own count
    clock.now += 10.5
    assert window.allow("a")
    assert SlidingWindow(0, 10.0, 100).allow("a")  # 0: no limit


def test_a_flood_of_keys_keeps_memory_bounded() -> None:
    clock = Clock()
    window = SlidingWindow(10, 60.0, max_keys=1000, clock=clock)
    for n in range(20_000):
        window.allow(f"198.51.{n // 256}.{n % 256}")
        clock.now += 0.001
    assert len(window) == 1000
    clock.now += 61
    window.allow("203.0.113.1")  # those whose window has passed are dropped
    assert len(window) == 1


def test_a_busy_key_outlives_quiet_ones_when_the_flood_comes() -> None:
    clock = Clock()
    window = SlidingWindow(2, 60.0, max_keys=10, clock=clock)
    assert window.allow("busy") and window.allow("busy")
    for n in range(9):
        window.allow(f"quiet-{n}")
    window.allow("busy")  # refused; it is still among the ten kept
    assert not window.allow("busy")


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1:443 ", "192.0.2.1"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("unknown", None),
        ("", None),
    ],
)
def test_addresses_are_counted_by_client(address: str, key: str | None) -> None:
    assert address_key(address) == key


def test_the_client_is_the_entry_the_outermost_trusted_proxy_appended() -> None:
    assert TrustedProxies(0).client_address("10.0.0.1", ["1.1.1.1"]) == "10.0.0.1"
    assert TrustedProxies(1).client_address("10.0.0.1", ["1.1.1.1, 2.2.2.2"]) == "2.2.2.2"
    assert TrustedProxies(2).client_address("10.0.0.1", ["1.1.1.1", "2.2.2.2, 3.3.3.3"]) == (
        "2.2.2.2"
    )
    # Fewer entries than proxies, or one that is not an address: the socket's peer.
    assert TrustedProxies(2).client_address("10.0.0.1", ["2.2.2.2"]) == "10.0.0.1"
    assert TrustedProxies(1).client_address("10.0.0.1", ["1.1.1.1, junk"]) == "10.0.0.1"
    assert TrustedProxies(1).client_address("", []) == "unknown"
