"""Messenger end to end: signed deliveries to the real Rasa server, replies at the fake Graph API.

Real processes (the Rasa server with our Messenger channel, the action server, the web
service); the Graph API is the local fake (``tests/fake_graph_api.py``), which checks
each Send API call against the platform's limits and serves the people's locales.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from connectors.messenger_webhook import SIGNATURE_HEADER, sign
from tests.e2e.conftest import MESSENGER_SECRET
from tests.e2e.test_handoff import console
from tests.fake_graph_api import PAGE_ID, FakeGraphApi

pytestmark = pytest.mark.e2e

DOMAIN = Path(__file__).resolve().parents[2] / "domain"
_mids = itertools.count(1)
_clock = itertools.count(1_800_000_000_000, 1000)


@cache
def response_patterns() -> dict[str, list[re.Pattern[str]]]:
    """Every response text of the domain as a pattern (slots match anything), by language."""
    patterns: dict[str, list[re.Pattern[str]]] = {"fi": [], "sv": [], "en": []}
    for path in DOMAIN.glob("*.yml"):
        for variations in (yaml.safe_load(path.read_text()).get("responses") or {}).values():
            for variation in variations:
                language = next(
                    (
                        c["value"]
                        for c in variation.get("condition") or []
                        if c.get("name") == "language"
                    ),
                    "fi",
                )
                text = variation.get("text")
                if text:
                    pieces = re.split(r"\{[a-z_]+\}", text.strip())
                    patterns[language].append(re.compile(".*".join(map(re.escape, pieces)), re.S))
    return patterns


def language_of(text: str) -> set[str]:
    """The languages whose responses ``text`` is one of."""
    return {
        lang for lang, found in response_patterns().items() if any(p.fullmatch(text) for p in found)
    }


def event(psid: str, text: str, payload: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"mid": f"m-e2e-{next(_mids)}", "text": text}
    if payload:
        message["quick_reply"] = {"payload": payload}
    return {
        "sender": {"id": psid},
        "recipient": {"id": PAGE_ID},
        "timestamp": next(_clock),
        "message": message,
    }


async def deliver(stack: Any, *events: dict[str, Any], signature: str | None = None) -> int:
    """Posts one signed delivery with ``events`` to the Rasa server's Messenger webhook."""
    body = json.dumps(
        {
            "object": "page",
            "entry": [{"id": PAGE_ID, "time": next(_clock), "messaging": list(events)}],
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature or sign(body, MESSENGER_SECRET),
    }
    url = f"{stack.rasa_url}/webhooks/messenger/webhook"
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        await r.read()
        return r.status


async def replies(
    graph: FakeGraphApi, psid: str, after: int, timeout_s: float = 60
) -> list[dict[str, Any]]:
    """The messages ``psid`` got after the first ``after``, once the bot has stopped sending."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    count = after
    while loop.time() < deadline:
        await asyncio.sleep(1.0)
        now = len(graph.messages_to(psid))
        if now > after and now == count:
            return [c["message"] for c in graph.messages_to(psid)[after:]]
        count = now
    raise AssertionError(f"{psid} got no answer")


async def test_a_batch_of_three_people_gets_three_conversations_each_in_its_language(
    stack, graph_api
):
    # The same one-word need; each person's locale decides the language of the answer.
    status = await deliver(
        stack, event("7001", "Kela"), event("7002", "Kela"), event("7003", "Kela")
    )
    assert status == 200
    for psid, language in (("7001", "fi"), ("7002", "sv"), ("7003", "en")):
        texts = [m["text"] for m in await replies(graph_api, psid, 0) if "text" in m]
        assert texts, psid
        for text in texts:
            assert language in language_of(text), (psid, text)
        tracker = stack.tracker(psid)
        assert tracker["slots"]["language"] == language
        assert [e["text"] for e in tracker["events"] if e["event"] == "user"] == ["Kela"]
        assert tracker["latest_input_channel"] == "messenger"


async def test_a_redelivered_or_unsigned_delivery_is_not_answered_again(stack, graph_api):
    first = event("7005", "hei")
    assert await deliver(stack, first) == 200
    before = len(await replies(graph_api, "7005", 0))
    assert await deliver(stack, first) == 200  # the platform delivers it again
    forged = event("7005", "hei taas")
    assert await deliver(stack, forged, signature="sha256=" + "0" * 64) == 403
    await asyncio.sleep(3)
    assert len(graph_api.messages_to("7005")) == before
    assert [e["text"] for e in stack.tracker("7005")["events"] if e["event"] == "user"] == ["hei"]


async def test_a_swedish_locale_gets_swedish_answers_and_provider_cards_with_buttons(
    stack, graph_api
):
    assert (
        await deliver(stack, event("7004", "hej, min smarttelefon krånglar, jag bor i Närpes"))
        == 200
    )
    asked = await replies(graph_api, "7004", 0)
    question = asked[-1]
    assert "sv" in language_of(question["text"]), question
    choices = {r["title"]: r["payload"] for r in question.get("quick_replies", [])}
    assert choices, "the support form is offered as quick replies"
    on_site = next(payload for title, payload in choices.items() if "plats" in title.lower())

    # The person taps the quick reply: its payload goes to the bot.
    tap = event("7004", next(t for t, p in choices.items() if p == on_site), payload=on_site)
    assert await deliver(stack, tap) == 200
    answer = await replies(graph_api, "7004", len(asked))
    templates = [m["attachment"]["payload"] for m in answer if "attachment" in m]
    assert len(templates) == 1 and templates[0]["template_type"] == "generic"
    first = templates[0]["elements"][0]
    assert first["title"] == "Testpunkt Närpes"
    assert {"type": "phone_number", "title": "Ring", "payload": "+3580000000901"} in first[
        "buttons"
    ]
    assert {
        "type": "web_url",
        "title": "Webbsida",
        "url": "https://example.org/testpunkt-narpes",
    } in first["buttons"]
    for text in (m["text"] for m in answer if "text" in m):
        assert "sv" in language_of(text), text
    assert not graph_api.refused, graph_api.refused


async def test_a_handoff_from_messenger_reaches_the_console_and_the_worker_writes_with_the_human_agent_tag(
    stack, graph_api
):
    async with console(stack, "e2e-messenger-worker", ["fi", "sv"]) as worker:
        assert await deliver(stack, event("7010", "kan jag få prata med en människa")) == 200
        queued = await replies(graph_api, "7010", 0)
        assert "Din plats i kön: 1." in queued[-1]["text"], queued
        waiting = await worker.request_of("7010")
        assert (waiting["channel"], waiting["language"]) == ("messenger", "sv")
        base = f"/api/v1/handoff/requests/{waiting['id']}"
        assert (await worker.post(f"{base}/claim")).status == 200

        sent = await worker.post(
            f"{base}/messages", {"text": "Hej, jag heter Anna. Vad gäller det?"}
        )
        assert sent.status == 204, await sent.text()
        [from_worker] = [c for c in graph_api.messages_to("7010") if c.get("tag")]
        assert (
            from_worker["messaging_type"] == "MESSAGE_TAG" and from_worker["tag"] == "HUMAN_AGENT"
        )
        # Marked as a person's message: the worker's name first.
        assert from_worker["message"] == {"text": "👤 Anna: Hej, jag heter Anna. Vad gäller det?"}

        count = len(graph_api.messages_to("7010"))
        assert await deliver(stack, event("7010", "jag får inte in FPA:s sidor")) == 200
        heard = await worker.message("jag får inte in FPA:s sidor", timeout=30)
        assert heard["sender"] == "user"
        await asyncio.sleep(2)
        assert len(graph_api.messages_to("7010")) == count  # the bot stays quiet meanwhile

        # A message the platform refuses (the person blocked the Page) is reported to the worker.
        graph_api.blocked.add("7010")
        try:
            refused = await worker.post(f"{base}/messages", {"text": "Är du kvar?"})
            assert refused.status == 502
        finally:
            graph_api.blocked.discard("7010")

        assert (await worker.post(f"{base}/return")).status == 204
        back = await replies(graph_api, "7010", count)
        assert back[-1]["text"].startswith("Digistödjaren har lämnat samtalet")
        assert all(
            c.get("messaging_type") == "RESPONSE" for c in graph_api.messages_to("7010")[count:]
        )
