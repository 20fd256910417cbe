"""Where the widget's numbered messages wait until the widget acknowledges them.

Every message for a widget conversation gets the next sequence number and stays in
the conversation's outbox until the widget says it has shown it. The outbox also
tells every process that holds one of the conversation's sockets that a message
is there, so it can send it at once.

``MemoryOutbox`` keeps this in the process (the embedded profile: one Rasa server).
``RedisOutbox`` keeps it in Redis and announces new messages over Redis pub/sub,
so with several Rasa replicas a message produced on replica B (a support worker's
message, say) reaches a widget whose socket is open on replica A, and a widget that
reconnects to another replica finds its outbox there. Numbering, storing and
announcing happen in one Lua script: announcements leave in the order of their
numbers.

The same Redis holds the claims on the person's messages (:meth:`claim`): a message
the widget sends again after a reconnect is handled once, and one whose replica died
while handling it is handled by another.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], Awaitable[None]]
"""Called with (session id, frame) for every frame announced for a conversation."""

CLAIMED, DONE, TAKEN, RETAKEN = "claimed", "done", "taken", "retaken"
"""Answers of :meth:`Outbox.claim`. ``RETAKEN``: claimed, after an earlier claim ran out
(whoever had it stopped without finishing: a replica that died)."""


class Outbox(Protocol):
    """What the widget channel needs from an outbox."""

    async def start(self, listener: Listener) -> None:
        """Begins announcing frames to ``listener``; returns once announcements flow."""

    async def close(self) -> None:
        """Stops announcing and lets go of connections."""

    async def known(self, session_id: str) -> bool:
        """Whether the conversation has an outbox (it has had a message or a hello)."""

    async def resume(self, session_id: str, last_seq: int) -> None:
        """Numbering goes on after ``last_seq`` (a widget that showed more than we know)."""

    async def append(self, session_id: str, frame: dict[str, Any]) -> dict[str, Any]:
        """Numbers ``frame``, keeps it, announces it; returns the numbered frame."""

    async def announce(self, session_id: str, frame: dict[str, Any]) -> None:
        """Announces a frame that is not kept (typing)."""

    async def ack(self, session_id: str, seq: int) -> None:
        """The widget has shown everything up to ``seq``."""

    async def pending(self, session_id: str, after: int) -> list[dict[str, Any]]:
        """Kept frames numbered after ``after``, in order."""

    async def forget(self, session_id: str) -> None:
        """Drops the conversation's outbox (the widget started a new conversation)."""

    async def claim(self, session_id: str, message_id: str, lease_s: float) -> str:
        """Takes the person's message ``message_id`` for handling.

        Returns ``CLAIMED`` (handle it, and :meth:`renew` the lease while at it),
        ``RETAKEN`` (the same, but an earlier claim ran out: it may have been handled
        and not marked so), ``DONE`` (already handled) or ``TAKEN`` (being handled
        elsewhere now).
        """

    async def renew(self, session_id: str, message_id: str, lease_s: float) -> None:
        """Extends a claim that is still being worked on."""

    async def finish(self, session_id: str, message_id: str, handled: bool) -> None:
        """Marks the message handled, or (``handled=False``) releases it for another try."""


@dataclass(frozen=True)
class OutboxLimits:
    size: int = 200
    """Unacknowledged messages kept per conversation; the oldest go first beyond this."""
    ttl_s: float = 24 * 3600
    """A conversation nobody touches for this long loses its outbox."""


# --- in the process -------------------------------------------------------------


@dataclass
class _Box:
    next_seq: int = 1
    frames: deque[dict[str, Any]] = field(default_factory=deque)
    touched: float = field(default_factory=time.monotonic)


class MemoryOutbox:
    """Outboxes in this process: one Rasa server, nothing shared."""

    def __init__(self, limits: OutboxLimits | None = None) -> None:
        self.limits = limits or OutboxLimits()
        self._boxes: dict[str, _Box] = {}
        self._claims: dict[tuple[str, str], tuple[str, float]] = {}
        self._listener: Listener | None = None

    async def start(self, listener: Listener) -> None:
        self._listener = listener

    async def close(self) -> None:
        self._listener = None

    def _box(self, session_id: str) -> _Box:
        now = time.monotonic()
        for key in [k for k, b in self._boxes.items() if now - b.touched > self.limits.ttl_s]:
            del self._boxes[key]
        box = self._boxes.setdefault(session_id, _Box())
        box.touched = now
        return box

    async def known(self, session_id: str) -> bool:
        return session_id in self._boxes

    async def resume(self, session_id: str, last_seq: int) -> None:
        box = self._box(session_id)
        box.next_seq = max(box.next_seq, last_seq + 1)

    async def append(self, session_id: str, frame: dict[str, Any]) -> dict[str, Any]:
        box = self._box(session_id)
        numbered = {**frame, "seq": box.next_seq}
        box.next_seq += 1
        box.frames.append(numbered)
        while len(box.frames) > self.limits.size:
            dropped = box.frames.popleft()
            log.warning("widget outbox full, dropped message %s", dropped["seq"])
        await self.announce(session_id, numbered)
        return numbered

    async def announce(self, session_id: str, frame: dict[str, Any]) -> None:
        if self._listener is not None:
            await self._listener(session_id, frame)

    async def ack(self, session_id: str, seq: int) -> None:
        frames = self._box(session_id).frames
        while frames and frames[0]["seq"] <= seq:
            frames.popleft()

    async def pending(self, session_id: str, after: int) -> list[dict[str, Any]]:
        return [f for f in self._box(session_id).frames if f["seq"] > after]

    async def forget(self, session_id: str) -> None:
        self._boxes.pop(session_id, None)

    async def claim(self, session_id: str, message_id: str, lease_s: float) -> str:
        key = (session_id, message_id)
        state, until = self._claims.get(key, ("", 0.0))
        if state == DONE:
            return DONE
        if state == CLAIMED and until > time.monotonic():
            return TAKEN
        self._claims[key] = (CLAIMED, time.monotonic() + lease_s)
        return RETAKEN if state == CLAIMED else CLAIMED

    async def renew(self, session_id: str, message_id: str, lease_s: float) -> None:
        self._claims[(session_id, message_id)] = (CLAIMED, time.monotonic() + lease_s)

    async def finish(self, session_id: str, message_id: str, handled: bool) -> None:
        if handled:
            self._claims[(session_id, message_id)] = (DONE, time.monotonic() + self.limits.ttl_s)
        else:
            self._claims.pop((session_id, message_id), None)
        if len(self._claims) > 100_000:  # a day's worth at the most; forget the oldest
            now = time.monotonic()
            self._claims = {k: v for k, v in self._claims.items() if v[1] > now}


# --- in Redis -----------------------------------------------------------------------

# KEYS: seq, outbox. ARGV: frame JSON without seq, size, ttl (s), channel, session id.
# The member is "<seq>:<json>" (scores alone would let equal frames collapse).
_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. ':' .. ARGV[1])
local dropped = redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5] .. '\\n' .. seq .. '\\n' .. ARGV[1])
return {seq, dropped}
"""

# KEYS: seq, outbox. ARGV: last seq the widget showed, ttl (s).
_RESUME = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return current
"""

# KEYS: claim. ARGV: lease (ms), ttl (s). A claim is "claimed:<lease end, ms>" or "done";
# a claim whose lease ran out is kept (until the ttl), so taking it again is told apart.
_CLAIM = """
local state = redis.call('GET', KEYS[1])
if state == 'done' then return 'done' end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local answer = 'claimed'
if state then
  local lease_end = tonumber(string.match(state, '^claimed:(%d+)$') or '0')
  if lease_end > now_ms then return 'taken' end
  answer = 'retaken'
end
redis.call('SET', KEYS[1], 'claimed:' .. (now_ms + tonumber(ARGV[1])), 'EX', ARGV[2])
return answer
"""

# KEYS: claim. ARGV: lease (ms), ttl (s). Extends a claim that is not done.
_RENEW = """
local state = redis.call('GET', KEYS[1])
if not state or state == 'done' then return 0 end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('SET', KEYS[1], 'claimed:' .. (now_ms + tonumber(ARGV[1])), 'EX', ARGV[2])
return 1
"""


class RedisOutbox:
    """Outboxes in Redis, announced over pub/sub to every replica."""

    def __init__(
        self, url: str, limits: OutboxLimits | None = None, prefix: str = "digituki:widget"
    ) -> None:
        import redis.asyncio as aioredis  # only the production profile needs it

        self.limits = limits or OutboxLimits()
        self._prefix = prefix
        self._channel = f"{prefix}:frames"
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=15
        )
        self._append = self._redis.register_script(_APPEND)
        self._resume = self._redis.register_script(_RESUME)
        self._claim = self._redis.register_script(_CLAIM)
        self._renew = self._redis.register_script(_RENEW)
        self._listener: Listener | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.reconnected: Callable[[], Awaitable[None]] | None = None
        """Called after the subscription came back: frames announced meanwhile were missed."""

    def _keys(self, session_id: str) -> list[str]:
        # One hash tag per conversation: both keys live on one node of a Redis Cluster.
        return [f"{self._prefix}:{{{session_id}}}:seq", f"{self._prefix}:{{{session_id}}}:outbox"]

    async def start(self, listener: Listener) -> None:
        self._listener = listener
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="widget-outbox-listener")
        await asyncio.wait_for(self._subscribed.wait(), timeout=10)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._redis.close()

    async def ping(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(await self._redis.ping())
        except Exception:
            return False

    async def _listen(self) -> None:
        """Hands announcements to the listener; resubscribes after Redis went away."""
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._subscribed.set()
                if not first and self.reconnected is not None:
                    log.info("widget outbox: subscribed to Redis again")
                    await self.reconnected()
                first = False
                while True:
                    message = await pubsub.get_message(timeout=30)
                    if message is not None and message.get("type") == "message":
                        await self._dispatch(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log.warning("widget outbox: Redis subscription lost (%s); retrying", error)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.close()

    async def _dispatch(self, data: bytes | str) -> None:
        raw = data.decode() if isinstance(data, bytes) else data
        try:
            session_id, seq, body = raw.split("\n", 2)
            frame = json.loads(body)
        except ValueError:
            log.warning("widget outbox: an announcement that is not ours was ignored")
            return
        if int(seq) > 0:
            frame["seq"] = int(seq)
        if self._listener is not None:
            try:
                await self._listener(session_id, frame)
            except Exception:
                log.exception("widget outbox: could not pass a frame on")

    async def known(self, session_id: str) -> bool:
        return bool(await self._redis.exists(self._keys(session_id)[0]))

    async def resume(self, session_id: str, last_seq: int) -> None:
        await self._resume(keys=self._keys(session_id), args=[last_seq, int(self.limits.ttl_s)])

    async def append(self, session_id: str, frame: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps(frame, ensure_ascii=False)
        seq, dropped = await self._append(
            keys=self._keys(session_id),
            args=[body, self.limits.size, int(self.limits.ttl_s), self._channel, session_id],
        )
        if int(dropped):
            log.warning("widget outbox full, dropped %s message(s)", dropped)
        return {**frame, "seq": int(seq)}

    async def announce(self, session_id: str, frame: dict[str, Any]) -> None:
        body = json.dumps(frame, ensure_ascii=False)
        await self._redis.publish(self._channel, f"{session_id}\n0\n{body}")

    async def ack(self, session_id: str, seq: int) -> None:
        await self._redis.zremrangebyscore(self._keys(session_id)[1], "-inf", seq)

    async def pending(self, session_id: str, after: int) -> list[dict[str, Any]]:
        members = await self._redis.zrangebyscore(self._keys(session_id)[1], f"({after}", "+inf")
        frames = []
        for member in members:
            seq, body = (member.decode() if isinstance(member, bytes) else member).split(":", 1)
            frames.append({**json.loads(body), "seq": int(seq)})
        return frames

    async def forget(self, session_id: str) -> None:
        await self._redis.delete(*self._keys(session_id))

    def _claim_key(self, session_id: str, message_id: str) -> str:
        return f"{self._prefix}:{{{session_id}}}:message:{message_id}"

    async def claim(self, session_id: str, message_id: str, lease_s: float) -> str:
        state = await self._claim(
            keys=[self._claim_key(session_id, message_id)],
            args=[int(lease_s * 1000), int(self.limits.ttl_s)],
        )
        return state.decode() if isinstance(state, bytes) else str(state)

    async def renew(self, session_id: str, message_id: str, lease_s: float) -> None:
        await self._renew(
            keys=[self._claim_key(session_id, message_id)],
            args=[int(lease_s * 1000), int(self.limits.ttl_s)],
        )

    async def finish(self, session_id: str, message_id: str, handled: bool) -> None:
        key = self._claim_key(session_id, message_id)
        if handled:
            await self._redis.set(key, DONE, ex=int(self.limits.ttl_s))
        else:
            await self._redis.delete(key)
