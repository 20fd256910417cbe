"""The running stack for end-to-end tests: a trained model, the action server, the Rasa server."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.stack import REST_HEADERS, Processes, StackError, free_port, stack_env
from bot.config import load_settings
from bot.db.engine import make_engine, make_session_factory
from bot.db.migrate import load_gazetteer, upgrade_schema
from bot.geo import Gazetteer
from bot.ops.run import services
from bot.providers.repository import SqlProviderRepository
from bot.training import ensure_model
from tests.conftest import FIXTURES
from tests.fake_graph_api import FakeGraphApi
from tests.helpers import load_providers

START_TIMEOUT_S = 240
TOKEN = "e2e-test-token"
MESSENGER_SECRET = "e2e-messenger-app-secret"
MESSENGER_VERIFY = "e2e-messenger-verify-token"


@pytest.fixture(scope="session")
def graph_api() -> Iterator[FakeGraphApi]:
    """The fake Graph API the stack's Messenger channel sends to (in a thread of its own)."""
    fake = FakeGraphApi(
        profiles={
            "7001": {"locale": "fi_FI"},
            "7002": {"locale": "sv_SE"},
            "7003": {"locale": "en_GB"},
            "7004": {"locale": "sv_FI"},
            "7005": {"locale": "fi_FI"},
            "7010": {"locale": "sv_SE"},
        }
    )
    with fake.running_in_thread():
        yield fake


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model of the current data (trained here once if it is missing: a few minutes)."""
    return ensure_model()


@dataclass
class Stack:
    rasa_url: str
    database_url: str
    web_url: str
    processes: Processes | None = None

    def say(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Send a message through the REST channel; the bot's replies."""
        message: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            message["metadata"] = metadata
        request = urllib.request.Request(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json.dumps(message).encode(),
            REST_HEADERS,
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker, every event, from the HTTP API."""
        url = f"{self.rasa_url}/conversations/{sender}/tracker?include_events=ALL&token={TOKEN}"
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.load(response)


@pytest.fixture(scope="session")
def stack(
    trained_model: Path,
    tmp_path_factory: pytest.TempPathFactory,
    gazetteer: Gazetteer,
    graph_api: FakeGraphApi,
) -> Iterator[Stack]:
    """Action server, Rasa server and web service on free ports, with the search fixture providers."""
    folder = tmp_path_factory.mktemp("stack")
    database_url = f"sqlite:///{folder / 'digituki.db'}"
    engine = make_engine(database_url)
    upgrade_schema(engine)
    load_gazetteer(engine, gazetteer)
    SqlProviderRepository(make_session_factory(engine)).upsert(
        load_providers(FIXTURES / "search_providers.yml", gazetteer)
    )
    engine.dispose()
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    processes = Processes(folder)
    processes.env.update(
        DIGITUKI_DATABASE_URL=database_url,
        DIGITUKI_ACTION_SERVER_URL=f"http://127.0.0.1:{action_port}/webhook",
        DIGITUKI_RASA_URL=f"http://127.0.0.1:{rasa_port}",
        DIGITUKI_WEB_PORT=str(web_port),
        DIGITUKI_RASA_TOKEN=TOKEN,
        # Live help is open whenever a worker is there; hours are tested without a clock.
        DIGITUKI_HANDOFF_HOURS="24/7",
        # Messenger is on, sending to the fake Graph API.
        DIGITUKI_MESSENGER_PAGE_TOKEN=graph_api.token,
        DIGITUKI_MESSENGER_APP_SECRET=MESSENGER_SECRET,
        DIGITUKI_MESSENGER_VERIFY_TOKEN=MESSENGER_VERIFY,
        DIGITUKI_GRAPH_API_URL=graph_api.url,
        DIGITUKI_GRAPH_API_VERSION=graph_api.version,
        **stack_env(),
    )
    # The commands `make run` starts (bot.ops.run), with the tests' channels (REST on).
    commands = {
        name: service
        for name, service in zip(
            ("actions", "rasa", "web"),
            services(load_settings(processes.env), trained_model),
            strict=True,
        )
    }
    try:
        for name, service in commands.items():
            processes.start(name, service.command, env=service.env)
        processes.wait_for(f"http://127.0.0.1:{action_port}/health", START_TIMEOUT_S)
        processes.wait_for(f"http://127.0.0.1:{web_port}/health", START_TIMEOUT_S)
        processes.wait_for(f"http://127.0.0.1:{rasa_port}/status?token={TOKEN}", START_TIMEOUT_S)
        yield Stack(
            f"http://127.0.0.1:{rasa_port}", database_url, f"http://127.0.0.1:{web_port}", processes
        )
    except StackError as error:
        pytest.fail(str(error))
    finally:
        processes.stop()
