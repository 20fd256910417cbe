"""``make chat``: talk to the running assistant in the terminal, as the web widget does.

It speaks the widget's protocol (docs/widget-protocol.md) over the same WebSocket,
so it needs no channel of its own: the deployed channels are the widget and
Messenger only. Buttons are listed with a number; typing the number presses one.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any

import aiohttp

from bot.config import Settings, load_settings

WAIT_S = 60.0


def socket_url(settings: Settings) -> str:
    """The widget channel's WebSocket on the Rasa server of ``settings``."""
    base = settings.rasa_url.rstrip("/")
    return base.replace("http", "ws", 1) + "/webhooks/widget/websocket"


def render(frame: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Lines to print for a message frame, and the payloads of its buttons in order."""
    lines = [frame["text"]] if frame.get("text") else []
    for card in frame.get("cards") or []:
        lines.append(f"  * {card.get('name', '')}")
        details = (card.get("address"), card.get("distance_text"), card.get("phone"))
        lines += [f"    {value}" for value in (*details, card.get("website")) if value]
    payloads = []
    for button in frame.get("buttons") or []:
        payloads.append(str(button.get("payload", "")))
        lines.append(f"  [{len(payloads)}] {button.get('title')}")
    return lines, payloads


async def _replies(
    socket: aiohttp.ClientWebSocketResponse, message_id: str | None = None
) -> list[str]:
    """Prints the bot's messages until it has handled ``message_id`` (None: the greeting).

    Returns the payloads of the last buttons shown.
    """
    payloads: list[str] = []
    while True:
        frame = json.loads(await socket.receive_str(timeout=WAIT_S))
        kind = frame.get("type")
        if kind == "message":
            await socket.send_str(json.dumps({"type": "ack", "seq": frame["seq"]}))
            lines, found = render(frame)
            print(*lines, sep="\n")
            payloads = found or payloads
        elif kind == "error":
            print(f"({frame.get('message')})", file=sys.stderr)
            if message_id is None or frame.get("id") == message_id:
                return payloads
        elif (kind == "handled" and frame.get("id") == message_id) or (
            kind == "typing" and frame.get("on") is False and message_id is None
        ):
            return payloads


async def chat(settings: Settings) -> int:
    url = socket_url(settings)
    origin = f"http://{settings.web_host}:{settings.web_port}"
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(url, headers={"Origin": origin}) as socket,
        ):
            hello = {"type": "hello", "session_id": None, "last_seq": 0, "language": "fi"}
            await socket.send_str(json.dumps({**hello, "page_url": f"{origin}/chat"}))
            welcome = json.loads(await socket.receive_str(timeout=WAIT_S))
            if welcome.get("type") != "welcome":
                print(f"the assistant refused the chat: {welcome}", file=sys.stderr)
                return 1
            print(
                "Write a message (an empty line or Ctrl-D ends). Kirjoita viesti. Skriv ett meddelande."
            )
            payloads = await _replies(socket)  # the greeting
            while True:
                try:
                    text = (await asyncio.to_thread(input, "> ")).strip()
                except EOFError:
                    return 0
                if not text:
                    return 0
                if text.isdigit() and 1 <= int(text) <= len(payloads):
                    text = payloads[int(text) - 1]
                message_id = uuid.uuid4().hex
                frame = {"type": "message", "text": text, "id": message_id}
                await socket.send_str(json.dumps(frame))
                payloads = await _replies(socket, message_id)
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
        print(
            f"the assistant does not answer at {url} ({error or type(error).__name__}); "
            "is 'make run' running?",
            file=sys.stderr,
        )
        return 1


def main() -> int:
    return asyncio.run(chat(load_settings()))


if __name__ == "__main__":
    sys.exit(main())
