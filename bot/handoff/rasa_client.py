"""The Rasa server's HTTP API as the handoff needs it: one small client, one shared session.

A worker's message is appended to the conversation's tracker as a bot utterance
and sent through the conversation's latest channel (``output_channel=latest``),
so the user gets it where they are and the transcript stays whole. While a
worker has the conversation, the bot is paused; handing back resumes it and the
bot says so (``utter_handed_back``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp


class RasaUnavailableError(Exception):
    """The Rasa server did not take the request; the worker is told to try again."""


@dataclass(frozen=True)
class TranscriptLine:
    """One message of a conversation, as the console shows it."""

    sender: str  # "user", "bot" or "worker"
    text: str
    timestamp: float
    agent: str | None = None


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
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailableError(str(error) or type(error).__name__) from None

    async def send_worker_message(self, conversation_id: str, text: str, agent_name: str) -> None:
        """Appends the worker's message as a bot utterance and delivers it to the user."""
        event = {"event": "bot", "text": text, "metadata": {"agent": agent_name}}
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [event],
            output_channel="latest",
            execute_side_effects="true",
        )

    async def pause(self, conversation_id: str) -> None:
        """The bot stops answering: the worker has the conversation."""
        await self._post(self._url(conversation_id, "tracker/events"), [{"event": "pause"}])

    async def resume(self, conversation_id: str) -> None:
        """The bot answers again, and says that the worker has left and what it can do."""
        await self._post(self._url(conversation_id, "tracker/events"), [{"event": "resume"}])
        await self._post(
            self._url(conversation_id, "execute"),
            {"name": "utter_handed_back"},
            output_channel="latest",
        )
        # An action run through the API is not followed by listening; the dialogue
        # policies expect it before the person's next message.
        await self._post(
            self._url(conversation_id, "tracker/events"),
            [{"event": "action", "name": "action_listen"}],
        )

    async def transcript(self, conversation_id: str) -> list[TranscriptLine]:
        """The conversation's user, bot and worker messages, oldest first."""
        try:
            async with self._session.get(
                self._url(conversation_id, "tracker"),
                params={"token": self._token, "include_events": "ALL"},
            ) as response:
                if response.status >= 300:
                    raise RasaUnavailableError(f"Rasa answered {response.status}")
                tracker = await response.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaUnavailableError(str(error) or type(error).__name__) from None
        lines = []
        for event in tracker.get("events") or []:
            kind, text = event.get("event"), event.get("text")
            if kind not in ("user", "bot") or not text or text.startswith("/"):
                continue  # button payloads and session starts are not what anyone wrote
            agent = (event.get("metadata") or {}).get("agent") if kind == "bot" else None
            sender = "worker" if agent else kind
            lines.append(TranscriptLine(sender, text, float(event.get("timestamp") or 0), agent))
        return lines
