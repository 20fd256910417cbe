"""Live updates for the console: one WebSocket per open console page.

A background task follows two things in the database: the conversation event
stream (new messages, by id) and the queue (a cheap signature of the requests'
states). New messages of a chat go to the sockets of the worker who has it; a
change in the queue sends each connected worker their queue and chats anew.
Each message frame carries its event id, so a page that reconnects and reloads
a transcript shows every message once. Waiting people whose place in the queue
improves are told their new place through the Rasa server.

What a socket receives follows the access rule of :mod:`bot.handoff.access`:
the queue frame holds the waiting requests in the account's scope and its own
chats (both read through the queue's scoped queries, with the account read
anew each time, so a changed scope applies at the next frame); a message frame
goes only to the sockets of the worker who has the chat, whom the rule always
lets in. Nothing else is pushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy.exc import SQLAlchemyError

from bot.geo import Gazetteer
from bot.handoff import Agent, Agents, HandoffQueue
from bot.handoff.events import ConversationEvent, ConversationEvents
from bot.handoff.rasa_client import RasaClient, RasaUnavailableError
from bot.web.api_common import same_origin
from bot.web.handoff_views import message_view, request_view

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
HOUSEKEEPING_SECONDS = 30.0
"""How often presence is recorded and abandoned requests expire."""


def _dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, default=str)


class ConsoleHub:
    """The connected console pages and the task that feeds them."""

    def __init__(
        self,
        *,
        queue: HandoffQueue,
        agents: Agents,
        events: ConversationEvents,
        gazetteer: Gazetteer,
        rasa: RasaClient | None = None,
        poll_seconds: float = POLL_SECONDS,
        trust_proxy: bool = False,
    ) -> None:
        self.queue = queue
        self.agents = agents
        self.events = events
        self.gazetteer = gazetteer
        self.rasa = rasa
        self.poll_seconds = poll_seconds
        self.trust_proxy = trust_proxy
        self._sockets: dict[int, set[web.WebSocketResponse]] = defaultdict(set)
        self._wake = asyncio.Event()
        self._last_event = 0
        self._signature: tuple[object, ...] | None = None
        self._told_places: dict[str, int] = {}

    # --- the pages ----------------------------------------------------------------------

    async def connect(self, request: web.Request, agent: Agent) -> web.StreamResponse:
        """Serves one console page's socket until it closes."""
        if not same_origin(request, self.trust_proxy):
            raise web.HTTPForbidden(
                text='{"error": "bad_origin", "message": "the console socket is same-origin only"}',
                content_type="application/json",
            )
        socket = web.WebSocketResponse(heartbeat=20, max_msg_size=4096)
        if not socket.can_prepare(request).ok:
            raise web.HTTPBadRequest(
                text='{"error": "not_websocket", "message": "open this with a WebSocket"}',
                content_type="application/json",
            )
        await socket.prepare(request)
        self._sockets[agent.id].add(socket)
        try:
            await asyncio.to_thread(self.agents.seen, [agent.id])
            await self._send_queue(agent.id, {socket})
            async for message in socket:
                if message.type == WSMsgType.TEXT and message.data == '{"type":"ping"}':
                    await socket.send_str('{"type":"pong"}')
        finally:
            self._sockets[agent.id].discard(socket)
            if not self._sockets[agent.id]:
                del self._sockets[agent.id]
        return socket

    def queue_changed(self) -> None:
        """Something changed the queue: look now rather than at the next poll."""
        self._wake.set()

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for socket in list(sockets):
                await socket.close(code=1001, message=b"server shutting down")

    # --- the task -----------------------------------------------------------------------

    async def run(self) -> None:
        """Follows the event stream and the queue until cancelled."""
        self._last_event = await asyncio.to_thread(self.events.last_id)
        loop = asyncio.get_running_loop()
        next_housekeeping = loop.time()
        while True:
            try:
                if loop.time() >= next_housekeeping:
                    next_housekeeping = loop.time() + HOUSEKEEPING_SECONDS
                    await asyncio.to_thread(self.agents.seen, list(self._sockets))
                    await asyncio.to_thread(self.queue.expire)
                    await asyncio.to_thread(self.queue.drop_stale_contacts)
                await self.step()
            except SQLAlchemyError:
                log.exception("console updates: the database did not answer; retrying")
                await asyncio.sleep(1.0)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
            self._wake.clear()

    async def step(self) -> None:
        """One look at the stream and the queue."""
        while True:
            new = await asyncio.to_thread(self.events.after, self._last_event)
            if not new:
                break
            self._last_event = new[-1].id
            await self._deliver(new)
        signature = await asyncio.to_thread(self.queue.signature)
        if signature != self._signature:
            self._signature = signature
            for agent_id in list(self._sockets):
                await self._send_queue(agent_id, self._sockets.get(agent_id, set()))
            await self._tell_places()

    async def _deliver(self, events: list[ConversationEvent]) -> None:
        conversations = list(dict.fromkeys(e.conversation_id for e in events))
        active = await asyncio.to_thread(self.queue.active_by_conversation, conversations)
        for event in events:
            handoff = active.get(event.conversation_id)
            if handoff is None or handoff.claimed_by is None:
                continue
            frame = {"type": "message", "request_id": handoff.id, **message_view(event)}
            await self._send(self._sockets.get(handoff.claimed_by, set()), frame)

    async def _send_queue(self, agent_id: int, sockets: set[web.WebSocketResponse]) -> None:
        if not sockets:
            return
        agent = await asyncio.to_thread(self.agents.get, agent_id)
        if agent is None:  # the account was deactivated
            for socket in list(sockets):
                await socket.close(code=4401, message=b"logged out")
            return
        waiting = await asyncio.to_thread(self.queue.waiting_for, agent)
        active = await asyncio.to_thread(self.queue.active_of, agent)
        frame = {
            "type": "queue",
            "waiting": [request_view(r, agent, self.gazetteer) for r in waiting],
            "active": [request_view(r, agent, self.gazetteer) for r in active],
        }
        await self._send(sockets, frame)

    @staticmethod
    async def _send(sockets: set[web.WebSocketResponse], frame: dict[str, Any]) -> None:
        text = _dumps(frame)
        for socket in list(sockets):
            if not socket.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await socket.send_str(text)

    async def _tell_places(self) -> None:
        """Tells each waiting person whose place improved where they are now."""
        if self.rasa is None:
            return
        waiting = [r for r in await asyncio.to_thread(self.queue.waiting) if r.kind == "chat"]
        still = {r.id for r in waiting}
        for request_id in [k for k in self._told_places if k not in still]:
            del self._told_places[request_id]
        for request in waiting:
            region = await asyncio.to_thread(self.queue.region_of, request)
            workers = await asyncio.to_thread(self.agents.present_for, request.language, region)
            place = await asyncio.to_thread(self.queue.place, request, workers)
            told = self._told_places.get(request.id)
            self._told_places[request.id] = place.position
            if told is None or place.position >= told:
                continue  # the bot told the first place itself; only progress is news
            try:
                await self.rasa.tell_place(
                    request.conversation_id, place.position, place.minutes, request.channel
                )
            except RasaUnavailableError as error:
                log.warning("could not tell a waiting person their place: %s", error)
