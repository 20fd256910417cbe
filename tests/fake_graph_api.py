"""A local stand-in for the Graph API: the Send API and user profiles, checked like the platform.

It records every Send API call, answers profile lookups from ``profiles``, refuses
a wrong access token (code 190) and messages the platform would refuse (code 100:
too long texts, too many quick replies, template elements or buttons, call buttons
without ``+``), and can be told to fail the next calls the way the platform does when
it is busy (``fail_next``, for messages; typing indicators get through). Run it in the test's event loop (``start``) or, for tests
of the running stack, in a thread of its own (``running_in_thread``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PAGE_ID = "900100200300"


@dataclass
class Failure:
    status: int
    code: int
    transient: bool
    retry_after: float | None = None


@dataclass
class FakeGraphApi:
    token: str = "test-page-token"
    version: str = "v24.0"
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Accepted Send API bodies, in order."""
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Send API bodies answered with an error, with the error."""
    profile_lookups: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    """Recipients the platform will not deliver to (code 551, not transient)."""
    url: str = ""

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._runner: web.AppRunner | None = None

    # --- what tests look at -------------------------------------------------------

    def fail_next(
        self, count: int, status: int = 500, code: int = 1200, transient: bool = True,
        retry_after: float | None = None,
    ) -> None:  # fmt: skip
        with self._lock:
            self.failures.extend(
                Failure(status, code, transient, retry_after) for _ in range(count)
            )

    def messages_to(self, psid: str) -> list[dict[str, Any]]:
        """Send API calls with a message (not typing indicators) to ``psid``."""
        with self._lock:
            return [c for c in self.calls if c["recipient"]["id"] == psid and "message" in c]

    def texts_to(self, psid: str) -> list[str]:
        return [m["message"]["text"] for m in self.messages_to(psid) if "text" in m["message"]]

    def wait_for(self, psid: str, count: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
        """Blocks (from another thread) until ``psid`` has ``count`` messages; returns them."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = self.messages_to(psid)
            if len(messages) >= count:
                return messages
            time.sleep(0.05)
        raise AssertionError(f"{psid} got {len(self.messages_to(psid))} messages, not {count}")

    async def until(self, psid: str, count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """The same, for tests running in the fake's own event loop."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            messages = self.messages_to(psid)
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.02)
        raise AssertionError(f"{psid} got {len(self.messages_to(psid))} messages, not {count}")

    # --- the server -----------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{self.version}/me/messages", self._send)
        app.router.add_get(f"/{self.version}/{{psid}}", self._profile)
        return app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @contextmanager
    def running_in_thread(self) -> Iterator[str]:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()

        thread = threading.Thread(target=serve, name="fake-graph-api", daemon=True)
        thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake Graph API did not start")
        try:
            yield self.url
        finally:
            asyncio.run_coroutine_threadsafe(self.stop(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    @staticmethod
    def _error(status: int, code: int, message: str, transient: bool = False,
               retry_after: float | None = None) -> web.Response:  # fmt: skip
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        body = {
            "error": {
                "message": message, "type": "OAuthException", "code": code,
                "is_transient": transient, "fbtrace_id": "fake",
            }
        }  # fmt: skip
        return web.json_response(body, status=status, headers=headers)

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token:
            return self._error(401, 190, "Invalid OAuth access token.")
        try:
            body = await request.json()
        except ValueError:
            return self._error(400, 100, "Invalid JSON")
        problem = _problem(body)
        with self._lock:
            # Failures hit messages; typing indicators get through.
            failing = self.failures and problem is None and "message" in body
            failure = self.failures.pop(0) if failing else None
            if problem is None and failure is None and body["recipient"]["id"] in self.blocked:
                failure = Failure(400, 551, False)
            if problem is not None or failure is not None:
                self.refused.append({"body": body, "problem": problem or f"code {failure.code}"})  # type: ignore[union-attr]
            else:
                self.calls.append(body)
                number = len(self.calls)
        if problem is not None:
            return self._error(400, 100, f"(#100) {problem}")
        if failure is not None:
            return self._error(failure.status, failure.code, "Temporary failure", failure.transient,
                               failure.retry_after)  # fmt: skip
        return web.json_response(
            {"recipient_id": body["recipient"]["id"], "message_id": f"m_{number}"}
        )

    async def _profile(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token:
            return self._error(401, 190, "Invalid OAuth access token.")
        psid = request.match_info["psid"]
        with self._lock:
            self.profile_lookups.append(psid)
        profile = self.profiles.get(psid)
        if profile is None:
            return self._error(400, 100, "No matching user found")
        fields = request.query.get("fields", "").split(",")
        return web.json_response({"id": psid, **{k: v for k, v in profile.items() if k in fields}})


def _problem(body: Any) -> str | None:
    """What the platform would refuse in a Send API body, or ``None``."""
    if not isinstance(body, dict) or not isinstance(body.get("recipient"), dict):
        return "recipient is required"
    if not body["recipient"].get("id"):
        return "recipient.id is required"
    if "sender_action" in body:
        if body["sender_action"] not in ("typing_on", "typing_off", "mark_seen"):
            return "invalid sender_action"
        return None
    kind = body.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "messaging_type is required"
    if kind == "MESSAGE_TAG" and body.get("tag") not in ("HUMAN_AGENT", "ACCOUNT_UPDATE",
                                                         "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"):  # fmt: skip
        return "a MESSAGE_TAG message needs a valid tag"
    message = body.get("message")
    if not isinstance(message, dict) or ("text" in message) == ("attachment" in message):
        return "a message has text or an attachment"
    if "text" in message and not (
        isinstance(message["text"], str) and 0 < len(message["text"]) <= 2000
    ):
        return "text must be 1 to 2000 characters"
    replies = message.get("quick_replies", [])
    if len(replies) > 13:
        return "at most 13 quick replies"
    for reply in replies:
        if (
            not 0 < len(reply.get("title", "")) <= 20
            or not 0 < len(reply.get("payload", "")) <= 1000
        ):
            return "quick reply title 1-20 and payload 1-1000 characters"
    if "attachment" in message:
        payload = message["attachment"].get("payload", {})
        if (
            message["attachment"].get("type") != "template"
            or payload.get("template_type") != "generic"
        ):
            return "only generic templates here"
        elements = payload.get("elements", [])
        if not 0 < len(elements) <= 10:
            return "1 to 10 elements"
        for element in elements:
            if not 0 < len(element.get("title", "")) <= 80 or len(element.get("subtitle", "")) > 80:
                return "element title 1-80 and subtitle up to 80 characters"
            buttons = element.get("buttons", [])
            if len(buttons) > 3:
                return "at most 3 buttons"
            for button in buttons:
                if not 0 < len(button.get("title", "")) <= 20:
                    return "button title 1-20 characters"
                if button.get("type") == "phone_number":
                    if not str(button.get("payload", "")).startswith("+"):
                        return "phone numbers start with +"
                elif button.get("type") == "web_url":
                    if not str(button.get("url", "")).startswith(("http://", "https://")):
                        return "web_url needs an http(s) url"
                else:
                    return "unknown button type"
    return None
