"""Our Facebook Messenger channel (``credentials.yml``: ``connectors.messenger.MessengerInput``).

The webhook ``/webhooks/messenger/webhook``:

- ``GET`` answers the platform's subscription check (``hub.challenge``) when the
  verify token matches.
- ``POST`` reads at most ``max_body_bytes``, checks ``X-Hub-Signature-256`` against
  the app secret before anything is parsed, and hands every message of every entry to
  the bot. One person's messages are handled one at a time, in order; different
  people's at the same time. A message the platform delivers again (same ``mid``) is
  handled once: with ``DIGITUKI_REDIS_URL`` set (the production profile), once by all
  the replicas together, since a redelivery may reach another replica. The platform gets its 200 when the delivery's messages are handled, or
  after ``ack_within_s`` at the latest (they go on in the background).

The person's locale from their profile (``sv_SE``) goes with each message as metadata;
the bot takes the conversation's language from it when a session starts. The Page's
Get Started button (payload ``GET_STARTED``, or ``DIGITUKI_MESSENGER_GET_STARTED_PAYLOAD``
/ ``get_started_payload``) reaches the bot as ``/greet``: it greets in that language.

Replies go out through the Send API (``connectors.graph_api``), shaped by
``connectors.messenger_messages``. A support worker's message (a bot event carrying
``agent`` metadata, see ``bot.handoff.rasa_client``) is sent with the ``HUMAN_AGENT``
tag; if the platform refuses it, the error goes back to the console, so the worker
knows. A refused bot reply is logged with the platform's error code.

The channel is on when the Page access token, app secret and verify token are set
(``DIGITUKI_MESSENGER_*`` or ``credentials.yml``); otherwise its webhook answers 404.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.graph_api import DEFAULT_BASE_URL, DEFAULT_VERSION, GraphApi, GraphApiError
from connectors.messenger_messages import MAX_PAYLOAD, messages_for, plain_text_of
from connectors.messenger_webhook import (
    DEFAULT_GET_STARTED_PAYLOAD,
    SIGNATURE_HEADER,
    DeliveryError,
    Incoming,
    read_delivery,
    signature_valid,
    verification_challenge,
)
from connectors.whole_messages import WholeMessageOutput

log = logging.getLogger(__name__)

CHANNEL = "messenger"
SECRETS = ("page_access_token", "app_secret", "verify_token")
_SETTING_NAMES = {
    "page_access_token": "DIGITUKI_MESSENGER_PAGE_TOKEN",
    "app_secret": "DIGITUKI_MESSENGER_APP_SECRET",
    "verify_token": "DIGITUKI_MESSENGER_VERIFY_TOKEN",
}
# What the channel itself says when someone sends a photo, a sticker or a voice message.
ONLY_TEXT = {
    "fi": "Osaan lukea vain kirjoitettua tekstiä, en kuvia, tarroja tai ääniviestejä. "
    "Kirjoita asiasi, niin autan.",
    "sv": "Jag kan bara läsa skriven text, inte bilder, klistermärken eller röstmeddelanden. "
    "Skriv vad det gäller, så hjälper jag dig.",
    "en": "I can only read written text, not pictures, stickers or voice messages. "
    "Please write what you need, and I will help.",
}
INVALID_PARAMETER = 100
"""The Send API's code for a message it cannot take (e.g. a template it rejects)."""


@dataclass(frozen=True)
class MessengerConfig:
    page_access_token: str
    app_secret: str
    verify_token: str
    graph_api_url: str = DEFAULT_BASE_URL
    graph_api_version: str = DEFAULT_VERSION
    max_body_bytes: int = 256 * 1024
    """Deliveries are a few kilobytes; anything far larger is refused unread."""
    ack_within_s: float = 15.0
    """The platform wants its answer within 20 s."""
    get_started_payload: str = DEFAULT_GET_STARTED_PAYLOAD
    """The payload of the Page's Get Started button: its postback starts with a greeting."""


class SeenMessages:
    """Ids of messages already taken, so a redelivered one is handled once."""

    def __init__(self, size: int = 50_000, ttl_s: float = 48 * 3600) -> None:
        self._size = size
        self._ttl_s = ttl_s
        self._ids: OrderedDict[str, float] = OrderedDict()

    def first_time(self, message_id: str) -> bool:
        now = time.monotonic()
        while self._ids and now - next(iter(self._ids.values())) > self._ttl_s:
            self._ids.popitem(last=False)
        if message_id in self._ids:
            return False
        self._ids[message_id] = now
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


class SharedSeenMessages:
    """Ids of messages already taken by any replica, in Redis (``SET NX`` with a lifetime).

    When Redis does not answer, this replica's own memory decides: a message the
    platform redelivers to another replica meanwhile could be answered twice, which
    is better than a message nobody answers.
    """

    PREFIX = "digituki:messenger:seen:"

    def __init__(self, url: str, ttl_s: float = 48 * 3600) -> None:
        import redis  # only the production profile needs it
        import redis.asyncio as aioredis

        self._unanswered_errors = (redis.RedisError, OSError)
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._ttl_s = max(1, int(ttl_s))
        self.unanswered = 0
        """Times Redis did not answer."""

    async def first_time(self, message_id: str) -> bool:
        key = self.PREFIX + hashlib.sha256(message_id.encode()).hexdigest()[:32]
        try:
            return bool(await self._redis.set(key, "1", nx=True, ex=self._ttl_s))
        except self._unanswered_errors as error:
            self.unanswered += 1
            log.warning(
                "Messenger: Redis does not answer (%s); this replica alone decides whether "
                "a message was seen",
                type(error).__name__,
            )
            return True

    async def close(self) -> None:
        await self._redis.close()


class _OneAtATime:
    """Per-person turns: a person's messages are handled in the order they came."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: Counter[str] = Counter()

    @asynccontextmanager
    async def turn(self, key: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                yield
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)


class MessengerOutput(WholeMessageOutput):
    """Sends the bot's and support workers' messages to one person through the Send API."""

    def __init__(self, graph: GraphApi | None) -> None:
        self.graph = graph
        self.delivered = 0

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        from_worker = bool(message.get("agent"))
        if self.graph is None:
            error = GraphApiError("the Messenger channel is not configured")
            if from_worker:
                raise error
            log.error("a reply to a Messenger user was not sent: %s", error)
            return
        envelope: dict[str, Any] = {"recipient": {"id": recipient_id}}
        if from_worker:
            # A person's reply may come days later; the platform allows human agents a week.
            envelope.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
        else:
            envelope["messaging_type"] = "RESPONSE"
        parts = messages_for(message)
        try:
            for number, part in enumerate(parts):
                try:
                    await self.graph.send({**envelope, "message": part})
                except GraphApiError as error:
                    if "attachment" not in part or error.code != INVALID_PARAMETER:
                        raise
                    # The platform would not take the cards: their plain text goes instead.
                    log.warning(
                        "Messenger refused provider cards (%s); sending them as text", error
                    )
                    for fallback in plain_text_of(message):
                        if number == len(parts) - 1 and "quick_replies" in part:
                            fallback = {**fallback, "quick_replies": part["quick_replies"]}
                        await self.graph.send({**envelope, "message": fallback})
                self.delivered += 1
        except GraphApiError as error:
            if from_worker:
                raise  # the console tells the worker the message did not go
            log.error(
                "a reply to a Messenger user was not delivered (%d of %d parts sent): %s",
                self.delivered,
                len(parts),
                error,
            )

    async def sender_action(self, recipient_id: str, action: str) -> None:
        """``mark_seen``, ``typing_on`` or ``typing_off``; a failure here is only logged."""
        if self.graph is None:
            return
        try:
            await self.graph.send({"recipient": {"id": recipient_id}, "sender_action": action})
        except GraphApiError as error:
            log.info("Messenger %s failed: %s", action, error)


class MessengerInput(InputChannel):
    """The Messenger webhook; off (404) when the channel has no credentials."""

    def __init__(
        self,
        config: MessengerConfig | None,
        graph: GraphApi | None = None,
        shared_seen: SharedSeenMessages | None = None,
    ) -> None:
        self.config = config
        self.graph = graph or (
            GraphApi(config.page_access_token, config.graph_api_url, config.graph_api_version)
            if config
            else None
        )
        self.seen = SeenMessages()
        self.shared_seen = shared_seen
        self._turns = _OneAtATime()
        self._handling: set[asyncio.Future[Any]] = set()

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> MessengerInput:
        """Credentials from ``credentials.yml``, else from ``DIGITUKI_MESSENGER_*``."""
        from bot.config import ConfigError, load_settings

        credentials = credentials or {}
        settings = load_settings()
        values = {
            "page_access_token": settings.messenger_page_token,
            "app_secret": settings.messenger_app_secret,
            "verify_token": settings.messenger_verify_token,
            "graph_api_url": settings.graph_api_url,
            "graph_api_version": settings.graph_api_version,
            "get_started_payload": settings.messenger_get_started_payload,
        }
        values.update({k: str(v) for k, v in credentials.items() if k in values and v})
        missing = [k for k in SECRETS if not values[k]]
        if len(missing) == len(SECRETS):
            log.info(
                "the Messenger channel is off: set %s to turn it on",
                ", ".join(_SETTING_NAMES.values()),
            )
            return cls(None)
        if missing:
            raise ConfigError(
                "the Messenger channel needs "
                + ", ".join(_SETTING_NAMES[k] for k in missing)
                + " as well"
            )
        if not re.fullmatch(r"v\d{1,3}\.\d{1,2}", values["graph_api_version"]):
            raise ConfigError(
                f"graph_api_version {values['graph_api_version']!r}: expected one like v24.0"
            )
        redis_url = str(credentials.get("redis_url") or settings.redis_url or "")
        parts = urlsplit(values["graph_api_url"])
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(f"graph_api_url {values['graph_api_url']!r} is not an http(s) URL")
        get_started = values["get_started_payload"].strip()
        if not get_started or len(get_started) > MAX_PAYLOAD:
            raise ConfigError(
                f"get_started_payload: expected 1 to {MAX_PAYLOAD} characters "
                "(DIGITUKI_MESSENGER_GET_STARTED_PAYLOAD)"
            )
        return cls(
            MessengerConfig(
                page_access_token=values["page_access_token"],
                app_secret=values["app_secret"],
                verify_token=values["verify_token"],
                graph_api_url=values["graph_api_url"],
                graph_api_version=values["graph_api_version"],
                get_started_payload=get_started,
            ),
            shared_seen=SharedSeenMessages(redis_url) if redis_url else None,
        )

    def get_output_channel(self) -> OutputChannel:
        return MessengerOutput(self.graph)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        messenger = Blueprint("messenger_webhook", __name__)

        @messenger.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            if self.graph is None:
                return response.json({"status": "off"})
            return response.json(
                {"status": "ok", "sent": self.graph.sent, "failed": self.graph.failed}
            )

        @messenger.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if self.config is None:
                return response.json({"error": "the Messenger channel is off"}, status=404)
            params = {k: request.args.get(k) or "" for k in request.args}
            challenge = verification_challenge(params, self.config.verify_token)
            if challenge is None:
                log.warning("Messenger webhook verification refused")
                return response.json({"error": "verification failed"}, status=403)
            return response.text(challenge)

        @messenger.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if self.config is None:
                return response.json({"error": "the Messenger channel is off"}, status=404)
            body = await self._read_body(request)
            if body is None:
                return response.json({"error": "delivery too large"}, status=413)
            if not signature_valid(
                body, request.headers.get(SIGNATURE_HEADER), self.config.app_secret
            ):
                log.warning("Messenger delivery with a missing or wrong signature refused")
                return response.json({"error": "signature does not match"}, status=403)
            try:
                delivery = read_delivery(body, self.config.get_started_payload)
            except DeliveryError as error:
                log.warning("Messenger delivery not understood: %s", error)
                return response.json({"error": "not a Messenger delivery"}, status=400)
            for problem in delivery.problems:
                log.warning("Messenger delivery: %s", problem)
            await self._dispatch(delivery.messages, on_new_message)
            return response.text("EVENT_RECEIVED")

        @messenger.listener("after_server_stop")
        async def close(*_: Any) -> None:
            if self.graph is not None:
                await self.graph.close()
            if self.shared_seen is not None:
                await self.shared_seen.close()

        return messenger

    async def _read_body(self, request: Request) -> bytes | None:
        """The body, or ``None`` when it is over the limit (read no further than that)."""
        assert self.config is not None
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        if request.stream is None:  # already read whole by the server
            return request.body if len(request.body) <= limit else None
        body = bytearray()
        while True:
            chunk = await request.stream.read()
            if chunk is None:
                return bytes(body)
            body += chunk
            if len(body) > limit:
                return None

    async def _dispatch(
        self, messages: list[Incoming], on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        """Hands new messages to the bot, per person in order; waits a while for them."""
        by_person: dict[str, list[Incoming]] = {}
        for message in messages:
            if await self._first_time(message.message_id):
                by_person.setdefault(message.sender_id, []).append(message)
        tasks = [
            asyncio.ensure_future(self._handle_in_turn(sender, queued, on_new_message))
            for sender, queued in by_person.items()
        ]
        for task in tasks:
            self._handling.add(task)
            task.add_done_callback(self._handling.discard)
        if tasks:
            assert self.config is not None
            await asyncio.wait(tasks, timeout=self.config.ack_within_s)

    async def _first_time(self, message_id: str) -> bool:
        """Whether no replica has taken this message yet (it is taken now)."""
        if not self.seen.first_time(message_id):
            return False
        return self.shared_seen is None or await self.shared_seen.first_time(message_id)

    async def _handle_in_turn(
        self,
        sender_id: str,
        messages: list[Incoming],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        async with self._turns.turn(sender_id):
            for message in messages:
                try:
                    await self._handle(message, on_new_message)
                except Exception:
                    log.exception("a Messenger message could not be handled")

    async def _handle(
        self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> None:
        assert self.graph is not None
        output = MessengerOutput(self.graph)
        locale = await self.graph.locale(incoming.sender_id)
        if incoming.kind == "attachment":
            language = (locale or "fi").split("_")[0]
            await output.send_response(
                incoming.sender_id, {"text": ONLY_TEXT.get(language, ONLY_TEXT["fi"])}
            )
            return
        await output.sender_action(incoming.sender_id, "typing_on")
        await on_new_message(
            UserMessage(
                incoming.text,
                output,
                incoming.sender_id,
                input_channel=CHANNEL,
                message_id=incoming.message_id,
                metadata={"locale": locale} if locale else {},
            )
        )
        if not output.delivered:
            # Nothing to say (e.g. a worker has the conversation): no one is typing.
            await output.sender_action(incoming.sender_id, "typing_off")
