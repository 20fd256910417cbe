"""The gateway's pure parts: settings and command line, round-robin, headers, labels."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey
from multidict import CIMultiDict
from yarl import URL

from bot.gateway import Address, ConfigError, GatewayMetrics, GatewaySettings, Pool
from bot.gateway.cli import parse_settings
from bot.gateway.headers import client_response_headers, upstream_request_headers
from bot.gateway.metrics import method_label, status_class
from bot.gateway.proxy import BUSY_CONNECT_ATTEMPTS, PoolProxy
from bot.gateway.upstreams import Upstream, UpstreamGroup


def pool(name: str = "rasa", port: int = 5005, *upstreams: str) -> Pool:
    return Pool(name, Address("127.0.0.1", port), upstreams or ("http://127.0.0.1:5101",))


# --- settings and command line -------------------------------------------------


def test_the_documented_command_line_gives_two_pools() -> None:
    settings, log_level = parse_settings(
        [
            "--pool",
            "rasa=127.0.0.1:5005",
            "http://127.0.0.1:5101,http://127.0.0.1:5102/",
            "--pool",
            "actions=0.0.0.0:5055",
            "http://127.0.0.1:5151, http://127.0.0.1:5152",
            "--health-path",
            "actions=/health",
            "--admin",
            "[::1]:9105",
            "--upstream-timeout",
            "90",
            "--max-body-mb",
            "1",
        ]
    )
    rasa, actions = settings.pools
    assert (rasa.name, rasa.listen, rasa.health_path) == ("rasa", Address("127.0.0.1", 5005), "/")
    assert rasa.upstreams == ("http://127.0.0.1:5101", "http://127.0.0.1:5102")
    assert actions.upstreams == ("http://127.0.0.1:5151", "http://127.0.0.1:5152")
    assert actions.health_path == "/health"
    assert settings.admin == Address("::1", 9105) and str(settings.admin) == "[::1]:9105"
    assert settings.upstream_timeout == 90 and settings.max_body_bytes == 1024 * 1024
    assert settings.max_connections == 400 and log_level == "INFO"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pool", "rasa=127.0.0.1:5005", "ftp://127.0.0.1:21"], "scheme must be http or https"),
        (["--pool", "rasa=127.0.0.1:5005", "http://:5101"], "host is missing"),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:5101/webhooks"], "only scheme://host:port"),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:99999"], "not an upstream URL"),
        (["--pool", "rasa=127.0.0.1:5005", " , "], "has no upstreams"),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:1,http://h:1/"], "listed twice"),
        (["--pool", "rasa=127.0.0.1", "http://h:1"], "is not HOST:PORT"),
        (["--pool", "127.0.0.1:5005", "http://h:1"], "is not NAME=HOST:PORT"),
        (["--pool", "Rasa Pool=127.0.0.1:5005", "http://h:1"], "pool name"),
        (
            [
                "--pool",
                "rasa=127.0.0.1:5005",
                "http://h:1",
                "--pool",
                "x=0.0.0.0:5005",
                "http://h:2",
            ],
            "both listen on port 5005",
        ),
        (
            ["--pool", "rasa=127.0.0.1:5005", "http://h:1", "--admin", "127.0.0.1:5005"],
            "the admin site and pool 'rasa' both listen on port 5005",
        ),
        (
            [
                "--pool",
                "rasa=127.0.0.1:5005",
                "http://h:1",
                "--pool",
                "rasa=127.0.0.1:6",
                "http://h:2",
            ],
            "given twice",
        ),
        (
            ["--pool", "rasa=127.0.0.1:5005", "http://h:1", "--health-path", "actions=/health"],
            "not given: actions",
        ),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:1", "--health-path", "rasa=health"], "'/'"),
        (
            [
                *("--pool", "rasa=127.0.0.1:5005", "http://h:1"),
                *("--health-path", "rasa=/", "--health-path", "rasa=/health"),
            ],
            "given twice",
        ),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:1", "--upstream-timeout", "0"], "positive"),
        (["--pool", "rasa=127.0.0.1:5005", "http://h:1", "--health-fails", "0"], "at least 1"),
    ],
)
def test_wrong_arguments_stop_with_a_message_naming_the_mistake(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_settings(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_pools_may_share_a_port_on_different_hosts_and_any_port_when_asked_for_0() -> None:
    GatewaySettings(pools=(pool("a", 5005), Pool("b", Address("10.0.0.1", 5005), ("http://h:1",))))
    GatewaySettings(pools=(pool("a", 0), pool("b", 0)), admin=Address("127.0.0.1", 0))
    with pytest.raises(ConfigError, match="no pools"):
        GatewaySettings(pools=())


# --- round-robin -------------------------------------------------------------------


def group_of(count: int) -> UpstreamGroup:
    urls = tuple(f"http://127.0.0.1:{5101 + i}" for i in range(count))
    group = UpstreamGroup(pool("rasa", 5005, *urls), GatewayMetrics.create())
    for upstream in group.upstreams:
        group.mark(upstream, True)
    return group


def picks(group: UpstreamGroup, times: int) -> list[str]:
    return [(u.base[-1] if (u := group.pick()) else "-") for _ in range(times)]


def test_requests_take_turns_among_the_healthy_upstreams_only() -> None:
    group = group_of(3)
    assert picks(group, 6) == ["1", "2", "3", "1", "2", "3"]
    group.mark(group.upstreams[1], False, "refused")
    assert picks(group, 4) == ["1", "3", "1", "3"]
    for upstream in group.upstreams:
        group.mark(upstream, False, "refused")
    assert group.pick() is None and group.healthy() == []


def test_busy_upstreams_serve_only_when_none_is_healthy_and_down_ones_never() -> None:
    group = group_of(3)
    one, two, three = group.upstreams
    group.mark(one, False, "late", busy=True)
    group.mark(two, False, "refused")
    assert picks(group, 3) == ["3", "3", "3"]
    group.mark(three, False, "late", busy=True)
    assert picks(group, 4) == ["1", "3", "1", "3"]
    assert group.busy() == [one, three] and group.healthy() == []
    assert group.pick(exclude=[one, three]) is None
    busy_picks = group._metrics.registry.get_sample_value(
        "digituki_gateway_busy_picks_total", {"pool": "rasa"}
    )
    assert busy_picks == 4
    group.mark(one, True)
    assert picks(group, 2) == ["1", "1"] and not one.busy


def test_a_retry_never_goes_back_to_an_upstream_already_tried() -> None:
    group = group_of(2)
    first = group.pick()
    assert first is not None
    second = group.pick(exclude=[first])
    assert second is not None and second is not first
    assert group.pick(exclude=[first, second]) is None


def test_health_changes_show_in_the_gauge_and_unknown_counts_as_down() -> None:
    metrics = GatewayMetrics.create()
    group = UpstreamGroup(pool("rasa", 5005, "http://127.0.0.1:5101"), metrics)
    labels = {"pool": "rasa", "upstream": "http://127.0.0.1:5101"}
    assert group.pick() is None  # not checked yet
    assert metrics.registry.get_sample_value("digituki_gateway_upstream_up", labels) == 0
    group.mark(group.upstreams[0], True)
    assert metrics.registry.get_sample_value("digituki_gateway_upstream_up", labels) == 1


def test_the_upstream_url_keeps_the_path_and_query_exactly_as_sent() -> None:
    upstream = Upstream("http://127.0.0.1:5101")
    url = upstream.url_for(URL("/conversations/a%2Fb/tracker?x=%C3%A4&y=1%202", encoded=True))
    assert str(url) == "http://127.0.0.1:5101/conversations/a%2Fb/tracker?x=%C3%A4&y=1%202"


# --- headers and labels ----------------------------------------------------------


def test_hop_by_hop_headers_stay_and_forwarded_headers_are_added() -> None:
    incoming = CIMultiDict(
        [
            ("Host", "bot.example.fi"),
            ("Connection", "keep-alive, X-Secret-Hop"),
            ("X-Secret-Hop", "1"),
            ("Keep-Alive", "timeout=5"),
            ("Transfer-Encoding", "chunked"),
            ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic x"),
            ("TE", "trailers"),
            ("Trailer", "Expires"),
            ("Content-Length", "5"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("X-Forwarded-Proto", "https"),
            ("Origin", "https://www.example.fi"),
            ("Sec-WebSocket-Key", "abc"),
            ("Cookie", "a=1"),
        ]
    )
    plain = upstream_request_headers(incoming, remote="10.0.0.7", scheme="http", host="gw:5005")
    assert sorted(plain) == sorted(
        [
            "Origin",
            "Sec-WebSocket-Key",
            "Cookie",
            "X-Forwarded-For",
            "X-Forwarded-Proto",
            "X-Forwarded-Host",
        ]
    )
    assert plain["X-Forwarded-For"] == "203.0.113.9, 10.0.0.7"
    assert (plain["X-Forwarded-Proto"], plain["X-Forwarded-Host"]) == ("http", "gw:5005")
    socket = upstream_request_headers(
        incoming, remote="10.0.0.7", scheme="http", host="gw", websocket=True
    )
    assert "Sec-WebSocket-Key" not in socket and socket["Origin"] == "https://www.example.fi"


def test_response_headers_keep_repeats_and_drop_hop_by_hop() -> None:
    answer = CIMultiDict(
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Connection", "close"),
            ("Keep-Alive", "timeout=5"),
            ("Content-Length", "10"),
            ("Content-Encoding", "gzip"),
        ]
    )
    kept = client_response_headers(answer)
    assert kept.getall("Set-Cookie") == ["a=1", "b=2"]
    assert sorted(kept) == ["Content-Encoding", "Content-Length", "Set-Cookie", "Set-Cookie"]


def test_labels_are_bounded() -> None:
    assert [status_class(s) for s in (101, 200, 302, 404, 503, 999)] == [
        "1xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
        "other",
    ]
    assert (method_label("POST"), method_label("PROPFIND"), method_label("get")) == (
        "POST",
        "OTHER",
        "OTHER",
    )


# --- a saturated replica ------------------------------------------------------------


def proxy_of(group: UpstreamGroup) -> PoolProxy:
    settings, _ = parse_settings(["--pool", "rasa=127.0.0.1:5005", "http://127.0.0.1:5101"])
    return PoolProxy(group, settings, group._metrics, http=None, websockets=None)  # type: ignore[arg-type]


def test_a_connect_that_times_out_leaves_the_replica_busy_and_a_refused_one_down() -> None:
    group = group_of(1)
    (replica,) = group.upstreams
    proxy = proxy_of(group)
    proxy._failed(replica, "connect", aiohttp.ServerTimeoutError("connect timeout"))
    assert (replica.healthy, replica.busy) == (False, True)
    assert group.pick() is replica  # still gets requests rather than a 503
    refused = aiohttp.ClientConnectorError(
        ConnectionKey("127.0.0.1", 5101, False, True, None, None, None),
        ConnectionRefusedError(111, "refused"),
    )
    proxy._failed(replica, "connect", refused)
    assert (replica.healthy, replica.busy) == (False, False) and group.pick() is None


def test_a_busy_replica_is_tried_again_only_when_no_other_is_left_and_a_few_times() -> None:
    group = group_of(2)
    one, two = group.upstreams
    proxy = proxy_of(group)
    timeout = aiohttp.ServerTimeoutError("connect timeout")
    attempts: dict[str, int] = {}
    assert not proxy._wait_for_busy(one, timeout, [one], attempts)  # the other one is there
    group.mark(two, False, "refused")
    attempts = {}
    tries = [proxy._wait_for_busy(one, timeout, [one], attempts) for _ in range(4)]
    assert tries == [True, True, False, False]  # BUSY_CONNECT_ATTEMPTS connects in all
    assert BUSY_CONNECT_ATTEMPTS == 3
    assert not proxy._wait_for_busy(one, ConnectionRefusedError(), [one], {})
