"""The login throttle, the client address it counts, and the proxy setting behind it."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from bot.config import ConfigError, Settings, load_settings
from bot.web.handoff_api import client_address
from bot.web.keys import SETTINGS
from bot.web.throttle import LoginThrottle, LoginThrottled


def test_attempts_count_before_the_check_per_name_and_per_address_then_expire():
    now = [1000.0]
    throttle = LoginThrottle(per_name=3, per_address=5, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        throttle.begin("Wilma", "10.0.0.1")  # counted now, whatever the password turns out
    with pytest.raises(LoginThrottled) as refused:
        throttle.begin("WILMA ", "10.0.0.2")
    assert refused.value.retry_after == 60
    throttle.begin("otto", "10.0.0.1")
    throttle.begin("kalle", "10.0.0.1")
    assert throttle.retry_after("someone", "10.0.0.1") == 60  # the address tried five
    assert throttle.retry_after("someone", "10.0.0.2") == 0
    now[0] += 30
    assert throttle.retry_after("wilma", "10.0.0.3") == 30
    now[0] += 31
    assert throttle.retry_after("wilma", "10.0.0.1") == 0


def test_a_refused_attempt_is_not_counted_and_a_right_password_forgets():
    throttle = LoginThrottle(per_name=2, per_address=3, clock=lambda: 5.0)
    first = throttle.begin("otto", "10.0.0.9")
    throttle.begin("otto", "10.0.0.9")
    for _ in range(3):
        with pytest.raises(LoginThrottled):
            throttle.begin("otto", "10.0.0.9")
    assert throttle.retry_after("eve", "10.0.0.9") == 0  # the address has two of three
    throttle.succeeded(first)  # the first one had the right password after all
    assert throttle.retry_after("otto", "10.0.0.9") == 0
    # The office's successful logins do not fill the shared address's limit.
    for name in ("a", "b", "c", "d", "e"):
        throttle.succeeded(throttle.begin(name, "10.0.0.1"))
    assert throttle.retry_after("f", "10.0.0.1") == 0


def test_parallel_attempts_for_one_name_reach_the_check_at_most_five_times():
    throttle = LoginThrottle()
    start = threading.Barrier(20)
    let_in: list[bool] = []

    def guess() -> None:
        start.wait()
        try:
            throttle.begin("wilma", "198.51.100.7")
            let_in.append(True)
        except LoginThrottled:
            let_in.append(False)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert let_in.count(True) == 5 and let_in.count(False) == 15


def test_the_address_limit_is_far_above_the_name_limit():
    """Behind an untrusted proxy every worker shares one address: 5 names' worth of typos
    (25 failures) must not lock the whole staff out."""
    throttle = LoginThrottle()
    assert (throttle.per_name, throttle.window) == (5, 300.0)
    for name in range(5):
        for _ in range(5):
            throttle.begin(f"worker{name}", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") == 0
    for name in range(throttle.per_address - 25):
        throttle.begin(f"sprayed{name}", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") > 0  # but a spray of names is stopped


def test_a_flood_of_names_does_not_grow_memory_without_end():
    now = [0.0]
    throttle = LoginThrottle(per_address=10**9, max_keys=100, clock=lambda: now[0])
    for n in range(1000):
        now[0] += 1
        throttle.begin(f"name{n}", "10.0.0.1")
    assert len(throttle._attempts) <= 101


def _request(headers: dict[str, str], *, trust: bool, hops: int = 1) -> web.Request:
    app = web.Application()
    app[SETTINGS] = dataclasses.replace(Settings(), trust_proxy=trust, proxy_hops=hops)
    request = make_mocked_request(
        "POST", "/api/v1/auth/login", headers=CIMultiDict(headers), app=app
    )
    return request.clone(remote="10.0.0.1")  # the proxy next to us


@pytest.mark.parametrize(
    ("forwarded", "trust", "hops", "address"),
    [
        ("203.0.113.5", True, 1, "203.0.113.5"),
        ("6.6.6.6, 203.0.113.5", True, 1, "203.0.113.5"),  # the client wrote the first one
        ("6.6.6.6, 203.0.113.5, 192.168.0.2", True, 2, "203.0.113.5"),
        ("203.0.113.5", True, 2, "10.0.0.1"),  # fewer entries than proxies: the peer
        ("6.6.6.6, 203.0.113.5", False, 1, "10.0.0.1"),  # not trusted: ignored
        ("", True, 1, "10.0.0.1"),
    ],
)
def test_the_client_is_the_entry_the_outermost_trusted_proxy_appended(
    forwarded, trust, hops, address
):
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert client_address(_request(headers, trust=trust, hops=hops)) == address


def test_two_forwarded_for_headers_read_as_one_list():
    request = _request({}, trust=True)
    headers = CIMultiDict([("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-For", "203.0.113.5")])
    assert client_address(request.clone(headers=headers)) == "203.0.113.5"


def test_the_number_of_proxies_is_a_setting_that_must_be_a_positive_whole_number():
    assert load_settings({}).proxy_hops == 1
    assert load_settings({"DIGITUKI_PROXY_HOPS": "2"}).proxy_hops == 2
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ConfigError, match="DIGITUKI_PROXY_HOPS"):
            load_settings({"DIGITUKI_PROXY_HOPS": bad})


async def test_one_names_password_checks_take_turns_and_leave_nothing_behind():
    throttle = LoginThrottle()
    running: dict[str, int] = {"wilma": 0, "otto": 0}
    most: dict[str, int] = {"wilma": 0, "otto": 0}

    async def check(name: str) -> None:
        async with throttle.turn(throttle.begin(name, "10.0.0.1")):
            running[name] += 1
            most[name] = max(most[name], running[name])
            await asyncio.sleep(0.01)
            running[name] -= 1

    await asyncio.gather(*(check(name) for name in ["wilma"] * 5 + ["otto"] * 5))
    assert most == {"wilma": 1, "otto": 1}
    assert throttle._turns == {}
