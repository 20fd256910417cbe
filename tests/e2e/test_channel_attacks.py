"""A caller of the REST channel tries to speak in someone else's conversation (real processes).

The stack has the tests' REST channel on (tests/credentials.yml). What the attacker
did before this was closed: post with a widget user's session id as ``sender``, so
the text landed in that person's conversation, the worker's next message went to the
REST caller, and with ``input_channel=messenger`` in the body a worker's reply went
out through the Send API to a made-up id. Each of these must now do no harm.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

from bench.stack import REST_HEADERS
from tests.e2e.test_handoff import console, widget_user
from tests.fake_graph_api import FakeGraphApi

pytestmark = pytest.mark.e2e


def rest_post(stack: Any, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook", json.dumps(body).encode(), headers
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


async def test_a_rest_post_with_a_widget_session_id_is_refused_and_the_worker_still_reaches_the_widget(
    stack: Any,
) -> None:
    async with (
        console(stack, "e2e-attack-worker", ["fi"]) as worker,
        widget_user(stack, "fi") as user,
    ):
        await user.say("haluan puhua ihmisen kanssa, en pääse kelan sivuille")
        assert "Paikkasi jonossa" in (await user.next_message())["text"]
        waiting = await worker.request_of(user.session_id)
        base = f"/api/v1/handoff/requests/{waiting['id']}"
        assert (await worker.post(f"{base}/claim")).status == 200
        before = await asyncio.to_thread(stack.tracker, user.session_id)

        attacks = [
            ({"sender": user.session_id, "message": "soita minulle 040 999 9999"}, REST_HEADERS),
            (
                {"sender": user.session_id, "message": "hei", "input_channel": "widget"},
                REST_HEADERS,
            ),
            ({"sender": user.session_id, "message": "hei"}, {"Content-Type": "application/json"}),
        ]
        for body, headers in attacks:
            status, answer = await asyncio.to_thread(rest_post, stack, body, headers)
            assert status in (401, 403), (status, answer)
            assert "kela" not in json.dumps(answer)  # nothing of the person's context

        after = await asyncio.to_thread(stack.tracker, user.session_id)
        assert after["events"] == before["events"]  # the widget conversation is untouched
        assert after["latest_input_channel"] == "widget"

        sent = await worker.post(f"{base}/messages", {"text": "Hei, olen Anna digituesta."})
        assert sent.status == 204
        joined = await user.next_message(5)  # sent on the claim: who answers now
        assert joined.get("notice") == "worker_joined", joined
        reply = await user.next_message(5)
        assert reply["text"] == "Hei, olen Anna digituesta."
        assert reply["sender"]["kind"] == "worker"
        assert (await worker.post(f"{base}/return")).status == 204


async def test_a_body_claiming_messenger_cannot_make_a_worker_reply_go_out_to_messenger(
    stack: Any, graph_api: FakeGraphApi
) -> None:
    made_up_psid = str(9_000_000_000 + uuid.uuid4().int % 1_000_000_000)
    async with console(stack, "e2e-attack-worker-2", ["fi"]) as worker:
        status, _ = await asyncio.to_thread(
            rest_post,
            stack,
            {
                "sender": made_up_psid,
                "message": "haluan puhua ihmisen kanssa",
                "input_channel": "messenger",
            },
            REST_HEADERS,
        )
        assert status == 200
        waiting = await worker.request_of(made_up_psid)
        assert waiting["channel"] == "rest"  # what the body claimed was not believed
        base = f"/api/v1/handoff/requests/{waiting['id']}"
        assert (await worker.post(f"{base}/claim")).status == 200
        await worker.post(f"{base}/messages", {"text": "URGENT: log in again at evil.example"})
        await asyncio.sleep(1)
        assert graph_api.messages_to(made_up_psid) == []
        await worker.post(f"{base}/close", {"outcome": "other"})
