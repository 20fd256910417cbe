"""The Rasa server's HTTP API as the handoff needs it: one small client, one shared session.

A worker's message is appended to the conversation's tracker as a bot utterance
and sent through the channel the handoff request recorded when the person asked
for help (``output_channel=widget`` or ``messenger``), so the user gets it where
they are and the transcript stays whole. Never ``output_channel=latest``: that is
the channel of whoever wrote last, which a caller of another channel could be. While a
worker has the conversation, the bot is paused; handing back resumes it and the
bot says so (``utter_handed_back``).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import aiohttp


class RasaUnavailableError(Exception):
    """The Rasa server did not take the request; the worker is told to try again."""


OUTPUT_CHANNELS = frozenset({"widget", "messenger", "rest"})
"""Channels a worker's message may go out through (``rest``: the tests' own)."""


def output_channel(channel: str) -> str:
    """The Rasa output channel of a handoff request's recorded ``channel``."""
    if channel not in OUTPUT_CHANNELS:
        raise RasaUnavailableError(f"the conversation's channel {channel!r} cannot be written to")
    return channel


class RasaClient:
    """Calls to the Rasa HTTP API with its token; timeouts come from the shared session."""

    def __init__(self, base_url: str, token: str, session: aiohttp.ClientSession) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._session = session

    def _url(self, conversation_id: str, path: str) -> str:
        return f"{self._base}/conversations/{quote(conversation_id, safe='')}/{path}"

    async def _post(self, url: str, body: Any, **params: str) -> None:
        try:
            async with self._session.post(
                url, json=body, params={"token": self._token, **params}
            ) as response:
                if response.status >= 300:
                    raise RasaUnavailableError(f"Rasa answered {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            raise RasaUnavailableError(str(error) or type(error).__name__) from None

    async def send_worker_message(
        self, conversation_id: str, text: str, agent_name: str, channel: str
    ) -> None:
        """Appends the worker's message as a bot utterance and delivers it through ``channel``."""
        event = {"event": "bot", "text": text, "metadata": {"agent": agent_name}}
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [event],
            output_channel=output_channel(channel),
            execute_side_effects="true",
        )

    async def worker_joined(self, conversation_id: str, worker_name: str, channel: str) -> None:
        """Tells the person who has joined: "<name>, digital support worker, joined"."""
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [{"event": "slot", "name": "worker_name", "value": worker_name}],
        )
        await self._say(conversation_id, "utter_worker_joined", channel)

    async def pause(self, conversation_id: str) -> None:
        """The bot stops answering: the worker has the conversation."""
        await self._post(self._url(conversation_id, "tracker/events"), [{"event": "pause"}])

    async def resume(self, conversation_id: str, channel: str) -> None:
        """The bot answers again, and says that the worker has left and what it can do."""
        await self._post(self._url(conversation_id, "tracker/events"), [{"event": "resume"}])
        await self._say(conversation_id, "utter_handed_back", channel)

    async def tell_place(
        self, conversation_id: str, position: int, minutes: int, channel: str
    ) -> None:
        """Tells a waiting person their new place in the queue and the expected wait."""
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [
                {"event": "slot", "name": "queue_position", "value": position},
                {"event": "slot", "name": "queue_wait", "value": minutes},
            ],
        )
        await self._say(conversation_id, "utter_queue_update", channel)

    async def _say(self, conversation_id: str, response: str, channel: str) -> None:
        """Sends one of the bot's responses to the person through ``channel``."""
        await self._post(
            self._url(conversation_id, "execute"),
            {"name": response},
            output_channel=output_channel(channel),
        )
        # An action run through the API is not followed by listening; the dialogue
        # policies expect it before the person's next message.
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [{"event": "action", "name": "action_listen"}],
        )
