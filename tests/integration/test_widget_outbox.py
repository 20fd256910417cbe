"""Widget outboxes in the process and in the real Redis, and widgets across two replicas.

The replicas are two Sanic apps, each with its own ``WidgetInput`` on the same
Redis: what one of them sends reaches a widget connected to the other.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import redis
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sanic import Sanic

from connectors.widget import WidgetInput
from connectors.widget_limits import Limits
from connectors.widget_outbox import CLAIMED, DONE, RETAKEN, TAKEN, MemoryOutbox, RedisOutbox
from connectors.widget_protocol import rasa_message_id
from tests.integration.test_widget_channel import ORIGIN, EchoBot, _free_port, connect


@pytest.fixture
def prefix(redis_url: str) -> Any:
    """A key prefix of this test's own; its keys are removed afterwards."""
    name = f"digituki-test:{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{name}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture(params=["memory", "redis"])
async def outbox(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "memory":
        box: Any = MemoryOutbox()
    else:
        box = RedisOutbox(
            request.getfixturevalue("redis_url"), prefix=request.getfixturevalue("prefix")
        )
    yield box
    await box.close()


async def test_numbering_keeping_acknowledging_and_resuming(outbox: Any) -> None:
    heard: list[tuple[str, dict[str, Any]]] = []

    async def listener(session_id: str, frame: dict[str, Any]) -> None:
        heard.append((session_id, frame))

    await outbox.start(listener)
    assert not await outbox.known("a")
    await outbox.resume("a", 4)  # a widget that had shown 4 messages before
    assert await outbox.known("a")
    numbered = [await outbox.append("a", {"type": "message", "text": t}) for t in "xyz"]
    assert [f["seq"] for f in numbered] == [5, 6, 7]
    await outbox.append("b", {"type": "message", "text": "x"})  # same text, other one
    assert [f["text"] for f in await outbox.pending("a", 4)] == ["x", "y", "z"]
    await outbox.ack("a", 5)
    assert [f["seq"] for f in await outbox.pending("a", 0)] == [6, 7]
    assert [f["seq"] for f in await outbox.pending("a", 6)] == [7]
    await outbox.announce("a", {"type": "typing", "on": True})
    for _ in range(100):
        if len(heard) == 5:
            break
        await asyncio.sleep(0.02)
    assert [(s, f.get("seq")) for s, f in heard] == [
        ("a", 5), ("a", 6), ("a", 7), ("b", 1), ("a", None),
    ]  # fmt: skip
    await outbox.forget("a")
    assert not await outbox.known("a") and await outbox.pending("a", 0) == []


async def test_equal_frames_are_kept_apart_and_the_oldest_go_beyond_the_size(
    redis_url: str, prefix: str
) -> None:
    from connectors.widget_outbox import OutboxLimits

    box = RedisOutbox(redis_url, OutboxLimits(size=3), prefix=prefix)
    try:
        for _ in range(5):
            await box.append("a", {"type": "message", "text": "same"})
        assert [f["seq"] for f in await box.pending("a", 0)] == [3, 4, 5]
    finally:
        await box.close()


async def test_claims_handle_a_message_once_and_free_it_when_the_handler_dies(
    outbox: Any,
) -> None:
    assert await outbox.claim("a", "m1", lease_s=0.3) == CLAIMED
    assert await outbox.claim("a", "m1", lease_s=0.3) == TAKEN
    assert await outbox.claim("b", "m1", lease_s=0.3) == CLAIMED  # ids are per conversation
    await asyncio.sleep(0.45)  # the handler died: its lease ran out
    assert await outbox.claim("a", "m1", lease_s=5) == RETAKEN
    assert await outbox.claim("a", "m1", lease_s=5) == TAKEN
    await outbox.renew("a", "m1", lease_s=5)
    await outbox.finish("a", "m1", handled=True)
    assert await outbox.claim("a", "m1", lease_s=5) == DONE
    assert await outbox.claim("a", "m2", lease_s=5) == CLAIMED
    await outbox.finish("a", "m2", handled=False)  # failed: may be tried again
    assert await outbox.claim("a", "m2", lease_s=5) == CLAIMED


async def test_announcements_reach_other_processes_in_order_and_resume_after_a_lost_link(
    redis_url: str, prefix: str
) -> None:
    producer, consumer = (
        RedisOutbox(redis_url, prefix=prefix),
        RedisOutbox(redis_url, prefix=prefix),
    )
    heard: list[int] = []
    caught_up = asyncio.Event()

    async def listener(session_id: str, frame: dict[str, Any]) -> None:
        heard.append(frame["seq"])

    async def reconnected() -> None:
        caught_up.set()

    consumer.reconnected = reconnected
    try:
        await consumer.start(listener)
        await asyncio.gather(*(producer.append("c", {"n": n}) for n in range(200)))
        for _ in range(200):
            if len(heard) == 200:
                break
            await asyncio.sleep(0.02)
        assert heard == list(range(1, 201))  # each once, in the order of their numbers
        # Redis drops the subscriber's connection: it subscribes again and catches up.
        redis.Redis.from_url(redis_url).client_kill_filter(_type="pubsub")
        await asyncio.wait_for(caught_up.wait(), timeout=10)
    finally:
        await producer.close()
        await consumer.close()


# --- two replicas of the widget channel --------------------------------------------


@dataclass
class Replica:
    url: str
    channel: WidgetInput
    bot: EchoBot
    stop: Callable[[], Any]
    conversations: InMemoryTrackerStore
    """The tracker store the replicas share (PostgreSQL in production)."""


@pytest.fixture
async def replicas(redis_url: str, prefix: str) -> AsyncIterator[list[Replica]]:
    Sanic.test_mode = True
    started: list[Replica] = []
    conversations = InMemoryTrackerStore(Domain.empty())
    for _ in range(2):
        app = Sanic(f"widget-replica-{_free_port()}")
        app.ctx.agent = SimpleNamespace(tracker_store=conversations)  # as in a Rasa server
        channel = WidgetInput(
            [ORIGIN], Limits(claim_lease_s=1.0), outbox=RedisOutbox(redis_url, prefix=prefix)
        )
        bot = EchoBot()
        app.blueprint(channel.blueprint(bot), url_prefix="/webhooks/widget")
        port = _free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
        )
        assert server is not None
        await server.startup()

        async def stop(server: Any = server, channel: WidgetInput = channel) -> None:
            server.close()
            await server.wait_closed()
            await channel.sessions.outbox.close()

        started.append(
            Replica(
                f"http://127.0.0.1:{port}/webhooks/widget/websocket",
                channel,
                bot,
                stop,
                conversations,
            )  # fmt: skip
        )
    yield started
    for replica in started:
        await replica.stop()


async def test_a_worker_message_sent_through_replica_b_reaches_a_widget_on_replica_a(
    replicas: list[Replica],
) -> None:
    a, b = replicas
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, a.url)
        session_id = (await widget.hello())["session_id"]
        assert (await widget.receive("message"))["seq"] == 1  # greeting, from replica A
        # As Rasa on replica B does for a worker's message (output_channel=latest).
        await b.channel.get_output_channel().send_response(session_id, {"text": "Hei, olen Anna."})
        message = await widget.receive("message")
        assert (message["seq"], message["text"]) == (2, "Hei, olen Anna.")
        await widget.send(type="ack", seq=2)
        await widget.ws.close()

        # The widget comes back on replica B: its conversation and numbering are there.
        await a.channel.get_output_channel().send_response(session_id, {"text": "Oletko siellä?"})
        widget = await connect(session, b.url)
        assert (await widget.hello(session_id, last_seq=2))["session_id"] == session_id
        missed = await widget.receive("message")
        assert (missed["seq"], missed["text"]) == (3, "Oletko siellä?")
        await widget.send(type="message", text="olen", id="m-1")
        reply = await widget.receive("message")
        assert (reply["seq"], reply["text"]) == (4, "echo: olen")
        assert (await widget.receive("handled"))["id"] == "m-1"
    assert [m.text for m in a.bot.received] == ["/session_start"]
    assert [m.text for m in b.bot.received] == ["olen"]


async def test_a_message_sent_again_is_handled_once_wherever_it_arrives(
    replicas: list[Replica],
) -> None:
    a, b = replicas
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, a.url)
        session_id = (await widget.hello())["session_id"]
        await widget.receive("message")
        await widget.send(type="message", text="kela", id="m-1")
        await widget.receive("handled")
        await widget.ws.close()
        again = await connect(session, b.url)
        await again.hello(session_id, last_seq=2)
        await again.send(type="message", text="kela", id="m-1")
        assert (await again.receive("handled"))["id"] == "m-1"
    assert [m.text for m in a.bot.received + b.bot.received].count("kela") == 1


async def test_a_message_whose_replica_died_while_handling_it_is_handled_by_another(
    replicas: list[Replica], redis_url: str, prefix: str
) -> None:
    _, b = replicas
    dead = RedisOutbox(redis_url, prefix=prefix)  # a replica that took the message, then died
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, b.url)
        session_id = (await widget.hello())["session_id"]
        await widget.receive("message")
        assert await dead.claim(session_id, "m-9", lease_s=1.0) == CLAIMED
        await dead.close()  # it renews nothing more
        started = asyncio.get_running_loop().time()
        await widget.send(type="message", text="apua", id="m-9")  # the widget sends it again
        reply = await widget.receive("message", timeout=10)
        assert reply["text"] == "echo: apua"
        assert (await widget.receive("handled"))["id"] == "m-9"
        assert asyncio.get_running_loop().time() - started >= 0.5  # it waited for the claim
        # While a live replica handles it, a copy waits and is not handled twice.
        b.bot.gate = asyncio.Event()
        await widget.send(type="message", text="hidas", id="m-10")
        while not any(m.text == "hidas" for m in b.bot.received):
            await asyncio.sleep(0.02)
        copy = await connect(session, b.url)
        await copy.hello(session_id, last_seq=2)
        await copy.send(type="message", text="hidas", id="m-10")
        await asyncio.sleep(1.5)  # longer than the lease: renewing keeps it
        b.bot.gate.set()
        assert (await copy.receive("handled"))["id"] == "m-10"
    assert [m.text for m in b.bot.received] == ["/session_start", "apua", "hidas"]


async def test_a_message_whose_replica_died_after_saving_the_turn_is_not_answered_twice(
    replicas: list[Replica], redis_url: str, prefix: str
) -> None:
    _, b = replicas
    dead = RedisOutbox(redis_url, prefix=prefix)
    async with aiohttp.ClientSession() as session:
        widget = await connect(session, b.url)
        session_id = (await widget.hello())["session_id"]
        await widget.receive("message")
        # The replica took the message, answered it and saved the turn, then died before
        # it could mark the message handled.
        assert await dead.claim(session_id, "m-7", lease_s=1.0) == CLAIMED
        await dead.close()
        tracker = DialogueStateTracker(session_id, slots=[])
        tracker.update(UserUttered("apua", message_id=rasa_message_id(session_id, "m-7")))
        await b.conversations.save(tracker)
        await widget.send(type="message", text="apua", id="m-7")  # the widget sends it again
        assert (await widget.receive("handled", timeout=10))["id"] == "m-7"
        # Another message in the same conversation is handled as usual.
        await widget.send(type="message", text="kiitos", id="m-8")
        assert (await widget.receive("message"))["text"] == "echo: kiitos"
        assert (await widget.receive("handled"))["id"] == "m-8"
    assert [m.text for m in b.bot.received] == ["/session_start", "kiitos"]


async def test_a_message_the_bot_cannot_handle_gets_a_clear_error_with_its_id(
    replicas: list[Replica],
) -> None:
    a, _ = replicas

    async def broken(message: Any) -> None:
        if message.text != "/session_start":
            raise ConnectionError("the action server is down")

    async with aiohttp.ClientSession() as session:
        app = Sanic(f"widget-broken-{_free_port()}")
        app.blueprint(a.channel.blueprint(broken), url_prefix="/webhooks/widget")
        port = _free_port()
        server = await app.create_server(
            host="127.0.0.1", port=port, return_asyncio_server=True, debug=False
        )
        assert server is not None
        await server.startup()
        try:
            widget = await connect(session, f"http://127.0.0.1:{port}/webhooks/widget/websocket")
            session_id = (await widget.hello())["session_id"]
            await widget.send(type="message", text="kela", id="m-2")
            error = await widget.receive("error")
            assert (error["code"], error["id"]) == ("unavailable", "m-2")
            # Not marked handled: the person may send it again.
            assert await a.channel.sessions.outbox.claim(session_id, "m-2", 1) == CLAIMED
        finally:
            server.close()
            await server.wait_closed()
