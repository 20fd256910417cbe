"""The production profile against the real PostgreSQL, Redis and RabbitMQ.

Two Rasa replicas and two action servers behind HAProxy, the events worker and
the web service (``bot.ops.run.production_services``), started as ``make run-prod``
starts them, on free ports and a database of their own.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bench.production import (
    METRICS_HEADERS,
    METRICS_TOKEN,
    ORIGIN,
    TOKEN,
    ProductionStack,
    Worker,
    production_stack,
)
from bench.stack import ACTION_TOKEN, REST_HEADERS
from bot.db.engine import make_engine
from bot.handoff.rasa_client import RasaClient
from tests.conftest import FIXTURES
from tests.e2e.listening import command_lines, listeners
from tests.e2e.production_services import require_production_services

pytestmark = pytest.mark.e2e

PHONE = "040 123 4567"


@pytest.fixture(scope="module")
def stack(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory, gazetteer: Any
) -> Iterator[ProductionStack]:
    require_production_services()
    with production_stack(
        trained_model,
        tmp_path_factory.mktemp("production"),
        gazetteer,
        FIXTURES / "search_providers.yml",
    ) as running:
        yield running


def post_json(url: str, body: Any) -> Any:
    request = urllib.request.Request(url, json.dumps(body).encode(), REST_HEADERS)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def tracker_of(stack: ProductionStack, replica: int, sender: str) -> dict[str, Any]:
    return get_json(
        f"{stack.replica_url(replica)}/conversations/{sender}/tracker"
        f"?include_events=ALL&token={TOKEN}"
    )


def user_texts(tracker: dict[str, Any]) -> list[str]:
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_two_replicas_taking_turns_keep_one_consistent_tracker(stack: ProductionStack) -> None:
    sender = f"alternating-{uuid.uuid4().hex[:8]}"
    script = ["hei", "mä en osaa käyttää sähköpostia", "asun Oulussa", "paikan päällä"]
    replies = []
    for number, text_ in enumerate(script):
        replica = 1 + number % 2  # 1, 2, 1, 2: each message to the other replica
        replies.append(
            post_json(
                f"{stack.replica_url(replica)}/webhooks/rest/webhook",
                {"sender": sender, "message": text_},
            )
        )
    # The form went on across replicas: the last answer has the Oulu library's card.
    last = json.dumps(replies[-1], ensure_ascii=False)
    assert "Testikirjasto Oulu" in last, last
    one, two = tracker_of(stack, 1, sender), tracker_of(stack, 2, sender)
    assert one["events"] == two["events"]
    assert user_texts(one) == script
    assert one["slots"]["municipality"] == "Oulu" and one["slots"]["support_form"] == "in_person"


def test_simultaneous_messages_to_both_replicas_are_handled_one_after_the_other(
    stack: ProductionStack,
) -> None:
    """The Redis lock store: one conversation's turns never interleave."""
    sender = f"simultaneous-{uuid.uuid4().hex[:8]}"

    async def both() -> list[Any]:
        async with aiohttp.ClientSession() as http:

            async def say(replica: int, text_: str) -> Any:
                async with http.post(
                    f"{stack.replica_url(replica)}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text_},
                    headers=REST_HEADERS,
                ) as response:
                    assert response.status == 200
                    return await response.json()

            return await asyncio.gather(*(say(1 + n % 2, f"hei {n}") for n in range(6)))

    answers = asyncio.run(both())
    assert all(answers)  # every message answered
    events = tracker_of(stack, 1, sender)["events"]
    assert sorted(user_texts({"events": events})) == [f"hei {n}" for n in range(6)]
    # Between two user messages the bot finished its turn: it listened again.
    kinds = [
        "user" if e["event"] == "user" else "listen"
        for e in events
        if e["event"] == "user" or (e["event"] == "action" and e["name"] == "action_listen")
    ]
    assert kinds.count("user") == 6 and "user,user" not in ",".join(kinds), kinds


async def test_a_worker_message_through_replica_b_reaches_a_widget_on_replica_a(
    stack: ProductionStack,
) -> None:
    await asyncio.wait_for(worker_message_across_replicas(stack), timeout=240)


async def worker_message_across_replicas(stack: ProductionStack) -> None:
    replica_a = stack.replica_url(1).replace("http://", "ws://")
    async with (
        aiohttp.ClientSession() as http,
        Worker(stack, f"w-{uuid.uuid4().hex[:6]}") as worker,
    ):
        ws = await http.ws_connect(
            f"{replica_a}/webhooks/widget/websocket", headers={"Origin": ORIGIN}
        )
        await ws.send_json({"type": "hello", "session_id": None, "last_seq": 0, "language": "fi"})
        session_id = (await receive(ws, "welcome"))["session_id"]
        await receive(ws, "message")  # the greeting
        await ws.send_json(
            {"type": "message", "text": "haluan puhua ihmisen kanssa", "id": "pyynto-1"}
        )
        queued = await receive(ws, "message", timeout=60)
        assert "jonossa" in queued["text"], queued  # a worker is at the console: queued
        # Replica B appends the worker's message to the tracker and sends it on the
        # conversation's latest channel: the widget, whose socket is on replica A.
        rasa_b = RasaClient(stack.replica_url(2), TOKEN, http)
        await rasa_b.send_worker_message(session_id, "Hei, olen Anna digituesta.", "Anna", "widget")
        await receive(ws, "message", text="Hei, olen Anna digituesta.")
        # The same through the console: the web service reaches a replica via HAProxy.
        assert await worker.send(session_id, "Nyt olen täällä.") in (200, 204)
        await receive(ws, "message", text="Nyt olen täällä.")
        await ws.close()
    tracker = tracker_of(stack, 2, session_id)
    said = [e["text"] for e in tracker["events"] if e["event"] == "bot"]
    assert "Hei, olen Anna digituesta." in said and "Nyt olen täällä." in said


async def receive(
    ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 30, text: str | None = None
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = json.loads(await ws.receive_str(timeout=max(deadline - loop.time(), 0.1)))
        if frame["type"] == kind and (text is None or frame.get("text") == text):
            return frame


async def test_messages_reach_the_console_store_through_rabbitmq_masked(
    stack: ProductionStack,
) -> None:
    sender = f"events-{uuid.uuid4().hex[:8]}"
    post_json(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        {"sender": sender, "message": f"soita minulle {PHONE}"},
    )
    engine = make_engine(stack.database_url)
    try:
        for _ in range(100):
            with engine.connect() as connection:
                rows = connection.execute(
                    text(
                        "select sender, text from conversation_events "
                        "where conversation_id = :c order by id"
                    ),
                    {"c": sender},
                ).all()
            if rows and any(r.sender == "bot" for r in rows):
                break
            await asyncio.sleep(0.2)
        with engine.connect() as connection:
            facts = connection.scalar(
                text("select count(*) from analytics_events where kind = 'message'")
            )
    finally:
        engine.dispose()
    assert rows[0].sender == "user" and PHONE not in rows[0].text and "[phone]" in rows[0].text
    assert facts >= 1


def test_every_process_answers_health_readiness_and_metrics(stack: ProductionStack) -> None:
    for service in stack.services:
        ready = get_json(service.health_url)
        assert ready.get("status") in ("ok", "ready"), (service.name, ready)
    side = [f"http://127.0.0.1:{port}" for port in stack.layout.side_ports]
    expected = {
        "action server": "digituki_action_runs_total",
        "rasa replica": "digituki_messages_total",
        "events worker": "process_resident_memory_bytes",
    }
    for service, url in zip(
        [s for s in stack.services if s.name.split(" ")[0] in ("action", "rasa", "events")],
        side,
        strict=True,
    ):
        assert status_of(f"{url}/metrics") == 401, service.name  # the metrics token is set
        body = metrics_of(f"{url}/metrics")
        kind = " ".join(service.name.split(" ")[:2])
        assert expected[kind] in body, (service.name, body[:500])
    assert status_of(f"http://127.0.0.1:{stack.layout.admin_port}/metrics") == 401
    assert "haproxy_backend_http_requests_total" in metrics_of(
        f"http://127.0.0.1:{stack.layout.admin_port}/metrics"
    )
    assert status_of(f"{stack.web_url}/metrics") == 401
    assert "digituki_handoff_waiting" in metrics_of(f"{stack.web_url}/metrics")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def metrics_of(url: str) -> str:
    request = urllib.request.Request(url, headers=METRICS_HEADERS)
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


def test_every_listening_socket_is_on_loopback_and_no_secret_on_a_command_line(
    stack: ProductionStack,
) -> None:
    pids = [process.pid for _, process, _ in stack.processes.running]
    found = listeners(pids)
    layout = stack.layout
    expected = {
        layout.rasa_port, layout.action_port, layout.admin_port, *layout.rasa_replicas,
        *layout.action_replicas, *layout.side_ports, int(stack.web_url.rsplit(":", 1)[1]),
    }  # fmt: skip
    assert {s.port for s in found} == expected, found
    assert {s.host for s in found} == {"127.0.0.1"}, found
    lines = command_lines(pids)
    assert len(lines) >= len(stack.services)
    for secret in (TOKEN, METRICS_TOKEN, ACTION_TOKEN):
        assert not [line for line in lines if secret in line], secret


def test_logs_are_json_lines_without_personal_data(stack: ProductionStack) -> None:
    post_json(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        {"sender": f"logs-{uuid.uuid4().hex[:8]}", "message": f"numeroni on {PHONE}"},
    )
    logs = sorted(stack.processes.folder.glob("*.log"))
    assert len(logs) == len(stack.services)
    for log in logs:
        written = log.read_text(errors="replace")
        if not written.endswith("\n"):  # a line the process is writing right now
            written = written[: written.rfind("\n") + 1]
        lines = [line for line in written.splitlines() if line.strip()]
        if log.name == "haproxy.log":
            # HAProxy's own notices (a replica leaving rotation) are plain text; its
            # requests are JSON lines.
            notices = ("[", "Server ", "backend ", "Proxy ")
            lines = [line for line in lines if not line.startswith(notices)]
        # Python prints a few warnings of imports before logging is set up; from the
        # first JSON line on, every line is JSON.
        first = next(i for i, line in enumerate(lines) if line.startswith("{"))
        parsed = [json.loads(line) for line in lines[first:]]
        assert len(parsed) >= 3, log.name
        assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed), log.name
        assert PHONE not in log.read_text(errors="replace"), log.name
