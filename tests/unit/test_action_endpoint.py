"""The Rasa side of the action server's secret, and the server's inflating of bodies."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import pytest
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import read_endpoint_config
from sanic.exceptions import PayloadTooLarge

from actions.server import BadCompressedBody, inflate
from bot.config import PROJECT_ROOT

ENDPOINT_FILES = ["endpoints.yml", "endpoints.production.yml"]
# Every variable the files name, so that Rasa's reader fills them all in.
OTHER_VARIABLES = {
    "DIGITUKI_ACTION_SERVER_URL": "http://127.0.0.1:5055/webhook",
    "DIGITUKI_DATABASE_URL": "sqlite:///digituki.db",
    "DIGITUKI_REDIS_URL": "redis://127.0.0.1:6379/0",
    "DIGITUKI_RABBITMQ_URL": "amqp://127.0.0.1:5672/",
    "DIGITUKI_EVENTS_EXCHANGE": "digituki-events",
    "DIGITUKI_EVENTS_QUEUE": "digituki_events",
}


@pytest.fixture
def variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OTHER_VARIABLES.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("filename", ENDPOINT_FILES)
def test_rasa_sends_the_token_to_the_action_server(
    variables: None, monkeypatch: pytest.MonkeyPatch, filename: str
) -> None:
    monkeypatch.setenv("DIGITUKI_ACTION_TOKEN", "s3cret-Token_1")
    endpoint = read_endpoint_config(str(PROJECT_ROOT / filename), "action_endpoint")
    assert endpoint is not None
    assert endpoint.url == "http://127.0.0.1:5055/webhook"
    assert endpoint.headers == {"Authorization": "Bearer s3cret-Token_1"}


@pytest.mark.parametrize("filename", ENDPOINT_FILES)
def test_rasa_does_not_start_without_the_token(
    variables: None, monkeypatch: pytest.MonkeyPatch, filename: str
) -> None:
    monkeypatch.delenv("DIGITUKI_ACTION_TOKEN", raising=False)
    with pytest.raises(RasaException, match="DIGITUKI_ACTION_TOKEN"):
        read_endpoint_config(str(PROJECT_ROOT / filename), "action_endpoint")


CALL = b'{"next_action": "action_fallback", "tracker": {"sender_id": "x"}}'


@pytest.mark.parametrize(
    ("encoding", "compress"), [("deflate", zlib.compress), ("gzip", gzip.compress)]
)
def test_inflate_reads_what_rasa_and_others_send(
    encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    assert inflate(compress(CALL), encoding) == CALL
    assert inflate(compress(CALL), encoding, limit=len(CALL)) == CALL


def test_inflate_stops_at_the_limit() -> None:
    bomb = zlib.compress(b" " * (64 * 1024 * 1024), 9)
    with pytest.raises(PayloadTooLarge):
        inflate(bomb, "deflate", limit=1024)
    with pytest.raises(PayloadTooLarge):
        inflate(zlib.compress(CALL), "deflate", limit=len(CALL) - 1)


@pytest.mark.parametrize(
    "body",
    [
        zlib.compress(CALL)[:-6],  # cut short
        zlib.compress(CALL) + b"more",  # something after the stream
        CALL,  # not compressed at all
        gzip.compress(CALL),  # gzip said to be deflate
    ],
    ids=["cut short", "trailing bytes", "plain", "gzip"],
)
def test_inflate_refuses_what_is_not_one_whole_stream(body: bytes) -> None:
    with pytest.raises(BadCompressedBody):
        inflate(body, "deflate")
