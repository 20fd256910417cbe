"""The whole handoff in two real browsers: a person in the widget, a worker in the console.

Real processes (the Rasa server with the widget channel and the event broker, the
action server, the web service) and Debian's Chromium. Messages in both directions
must arrive within 2 s and be shown once, also after the widget's page was left and
opened again in the middle of the chat.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.db.engine import make_engine, make_session_factory
from bot.handoff import Agents
from tests.e2e.test_widget_browser import bot_says, browser, new_page, say

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["browser"]  # the fixture, imported for this module's tests

PASSWORD = "kirjasto-2026-syksy"
LIVE_MS = 10_000
"""How long a message may take before the test fails. The latency itself is measured and
printed (the goal is two seconds; `make bench` reports p50/p95): a slow shared CI machine
must not fail the test."""


@contextmanager
def worker_account(database_url: str, username: str) -> Iterator[None]:
    """A Finnish-speaking worker; afterwards, even after a failure, not available any more,
    so that the other tests of the session find no one at the console."""
    engine = make_engine(database_url)
    agents = Agents(make_session_factory(engine))
    agent = agents.add(username, PASSWORD, display_name="Anna", languages=["fi"])
    try:
        yield
    finally:
        agents.set_available(agent.id, False)
        engine.dispose()


def open_widget(page: Any, web_url: str) -> None:
    page.goto(f"{web_url}/demo/fi")
    if not page.locator("#digituki-input").is_visible():
        page.get_by_role("button", name="Kysy digiavusta").click()


def worker_writes(console: Any, text: str) -> None:
    box = console.get_by_label("Message to the person")
    box.fill(text)
    box.press("Enter")


def test_a_person_in_the_widget_and_a_worker_in_the_console_talk_both_ways(stack, browser):
    with (
        worker_account(stack.database_url, "e2e-browser"),
        new_page(browser, locale="en-GB") as console,
        new_page(browser, locale="fi-FI") as widget,
    ):
        console.goto(f"{stack.web_url}/console")
        console.get_by_label("Username").fill("e2e-browser")
        console.get_by_label("Password").fill(PASSWORD)
        console.get_by_role("button", name="Log in").click()
        console.get_by_role("heading", name="Queue").wait_for()
        availability = console.get_by_role("switch", name="Available for chats")
        if availability.get_attribute("aria-checked") != "true":
            availability.click()
        expect(availability).to_have_attribute("aria-checked", "true")

        open_widget(widget, stack.web_url)
        bot_says(widget, "Digituki-avustaja")
        say(widget, "haluun puhua ihmisen kanssa, kelan liitteen lisäys ei onnistu Lieksassa")
        bot_says(widget, "Paikkasi jonossa: 1.")

        # The request appears in the console with its language, need and place.
        item = console.locator(".request", has_text="kelan liitteen lisäys ei onnistu")
        item.wait_for()
        assert item.get_by_role("heading").inner_text().endswith("Finnish · Kela")  # after "New"
        assert "Lieksa" in item.inner_text()
        item.get_by_role("button", name="Claim").click()
        console.locator(".msg-user", has_text="kelan liitteen lisäys").first.wait_for()

        # The person is told who joined, and "Leave the queue" is gone with the queue.
        widget.locator(
            ".digituki-msg-notice", has_text="Anna, digitukija, tuli keskusteluun"
        ).wait_for(timeout=LIVE_MS)
        assert widget.get_by_role("button", name="Poistu jonosta").is_disabled()

        started = time.perf_counter()
        worker_writes(console, "Hei, olen Anna. Missä kohtaa liitteen lisäys jumittaa?")
        widget.locator(
            ".digituki-msg-bot", has_text="Missä kohtaa liitteen lisäys jumittaa?"
        ).wait_for(timeout=LIVE_MS)
        to_person = time.perf_counter() - started
        # A person's message, not the bot's: the name and role above it, styled apart.
        from_worker = widget.locator(".digituki-msg-worker", has_text="Missä kohtaa liitteen")
        assert from_worker.locator(".digituki-sender").inner_text() == "Anna · digitukija"
        background = (
            "node => getComputedStyle(node.querySelector('.digituki-bubble')).backgroundColor"
        )
        from_bot = widget.locator(".digituki-msg-bot:not(.digituki-msg-worker)").first
        assert from_worker.evaluate(background) != from_bot.evaluate(background)

        started = time.perf_counter()
        say(widget, "kun painan lisää liite mitään ei tapahdu")
        console.locator(".msg-user", has_text="mitään ei tapahdu").wait_for(timeout=LIVE_MS)
        print(f"worker -> person {to_person:.2f} s, person -> worker "
              f"{time.perf_counter() - started:.2f} s (goal: 2 s)")  # fmt: skip

        # The person leaves the page; the worker writes; the person comes back.
        widget.goto("about:blank")
        worker_writes(console, "Kokeile toista selainta, esimerkiksi Firefoxia.")
        console.locator(".msg-worker", has_text="Kokeile toista selainta").wait_for()
        open_widget(widget, stack.web_url)
        widget.locator(".digituki-msg-bot", has_text="Kokeile toista selainta").wait_for(
            timeout=LIVE_MS * 5  # the page loads and the widget reconnects first
        )
        say(widget, "nyt toimii, kiitos paljon")
        console.locator(".msg-user", has_text="nyt toimii").wait_for(timeout=LIVE_MS)

        # Every message once, on both sides.
        for side, selector, text in [
            (widget, ".digituki-msg-bot", "Missä kohtaa liitteen lisäys jumittaa?"),
            (widget, ".digituki-msg-bot", "Kokeile toista selainta"),
            (widget, ".digituki-msg-user", "mitään ei tapahdu"),
            (console, ".msg-worker", "Missä kohtaa liitteen lisäys jumittaa?"),
            (console, ".msg-worker", "Kokeile toista selainta"),
            (console, ".msg-user", "mitään ei tapahdu"),
            (console, ".msg-user", "nyt toimii"),
        ]:
            assert side.locator(selector, has_text=text).count() == 1, (selector, text)

        console.get_by_role("button", name="Hand back to the bot").click()
        widget.locator(
            ".digituki-msg-notice", has_text="Digitukija poistui keskustelusta"
        ).wait_for()
        say(widget, "kiitos")
        bot_says(widget, "Ole hyvä")  # the bot answers again

        availability.click()  # the other tests find no one at the console
        expect(availability).to_have_attribute("aria-checked", "false")
