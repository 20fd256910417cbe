"""Small helpers shared by tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.geo import Gazetteer
from bot.providers.files import read_raw_rows
from bot.providers.importer import validate_rows
from bot.providers.model import Provider


def load_providers(path: Path, gazetteer: Gazetteer) -> list[Provider]:
    """Providers of a fixture file; fails loudly if the fixture itself is invalid."""
    parsed = validate_rows(read_raw_rows(path), gazetteer)
    assert parsed.ok, [str(e) for e in parsed.errors]
    return parsed.providers


class FakeRasa:
    """Rasa's conversation API, recording what it is asked; ``down`` makes it fail.

    Given a ``broker`` (anything with ``publish(event)``, such as our database event
    broker), events appended to a tracker are published to it the way Rasa does.
    """

    def __init__(self, token: str = "rasa-secret", broker: Any = None) -> None:
        self.token = token
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.down = False
        self.broker = broker

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/conversations/{cid}/{rest:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.calls.append(
            (request.method, request.raw_path.split("?")[0], dict(request.query), body)
        )
        if self.down or request.query.get("token") != self.token:
            return web.json_response({"error": "no"}, status=503 if self.down else 401)
        if self.broker is not None and request.path.endswith("/tracker/events"):
            for event in body if isinstance(body, list) else [body]:
                stamped = {"timestamp": time.time(), **event}
                self.broker.publish({**stamped, "sender_id": request.match_info["cid"]})
        return web.json_response({})
