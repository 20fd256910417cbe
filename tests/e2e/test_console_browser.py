"""The workers' console in a real browser (Debian's Chromium via Playwright).

The web service runs in-process on a free port, in a background thread, with a
migrated SQLite database and :class:`tests.helpers.FakeRasa` standing in for the
Rasa server — no trained model is needed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import expect
from sqlalchemy import text, update
from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.db.models import HandoffRequestRow
from bot.handoff import Agents, HandoffRequest, HandoffRequests
from bot.handoff.events import ConversationEvents
from bot.web.app import init_app
from tests.e2e import test_widget_browser as widget_browser
from tests.helpers import FakeRasa

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

browser = widget_browser.browser  # the module's Chromium (skips when it is missing)
new_page = widget_browser.new_page
serious_violations = widget_browser.serious_violations

PASSWORD = "kirjasto-2026-syksy"
NARPES = "545"
KEMPELE = "244"
ARTIFACTS = Path(__file__).parent / "artifacts"


# --- the web service in a background thread ----------------------------------------------


class ServingThread:
    """An event loop in a thread of its own, serving aiohttp applications on free ports."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.runners: list[web.AppRunner] = []

    def serve(self, app: web.Application) -> str:
        async def start() -> web.AppRunner:
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            return runner

        runner = asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=60)
        self.runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    def close(self) -> None:
        for runner in reversed(self.runners):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@dataclass
class Console:
    """The running web service, its database and the fake Rasa server behind it."""

    url: str
    rasa: FakeRasa
    engine: Engine

    def request(
        self,
        conversation_id: str,
        language: str,
        topics: list[str],
        waited_minutes: int = 0,
        said: str = "jag vill prata med en människa",
        **more: Any,
    ) -> HandoffRequest:
        """A waiting request after a short conversation, recorded ``waited_minutes`` ago."""
        start = time.time() - 60 * waited_minutes - 30
        self.say(conversation_id, "bot", "Hej! Jag är Digituki-assistenten.", start)
        self.say(conversation_id, "user", said, start + 10)
        self.say(conversation_id, "bot", "Jag kopplar dig till en stödperson.", start + 11)
        more.setdefault("channel", "widget")
        recorded = HandoffRequests(make_session_factory(self.engine)).record(
            conversation_id=conversation_id, language=language, topics=topics, **more
        )
        if waited_minutes:
            with self.engine.begin() as conn:
                conn.execute(
                    update(HandoffRequestRow)
                    .where(HandoffRequestRow.id == recorded.id)
                    .values(
                        created_at=dt.datetime.now(dt.timezone.utc)
                        - dt.timedelta(minutes=waited_minutes, seconds=10)
                    )
                )
        return recorded

    def say(
        self, conversation_id: str, sender: str, text: str, at: float | None = None, **more: Any
    ) -> int:
        """A message in the event stream, as Rasa's event broker stores it."""
        return ConversationEvents(make_session_factory(self.engine)).append(
            conversation_id, sender, text, time.time() if at is None else at, **more
        )

    def row(self, request_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            found = conn.execute(
                text("select state, outcome, notes from handoff_requests where id = :id"),
                {"id": request_id},
            ).one()
        return dict(found._mapping)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON answer of the API to ``wilma``, logged in for this one call."""
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        login = {"username": "wilma", "password": PASSWORD}
        with opener.open(_json_request(f"{self.url}/api/v1/auth/login", "POST", login)) as answer:
            csrf = json.load(answer)["csrf_token"]
        call = _json_request(f"{self.url}/api/v1{path}", method, body)
        call.add_header("X-CSRF-Token", csrf)
        with opener.open(call) as answer:
            raw = answer.read()
        return json.loads(raw) if raw else None

    def worker_messages(self) -> list[str]:
        """Texts the console sent to the person through Rasa, in order."""
        return [
            event["text"]
            for method, path, _, body in list(self.rasa.calls)
            if method == "POST" and path.endswith("/tracker/events")
            for event in body or []
            if event.get("event") == "bot"
        ]


def _json_request(url: str, method: str, body: Any) -> urllib.request.Request:
    data = None if body is None else json.dumps(body).encode()
    return urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )


@pytest.fixture
def console(make_database: Callable[[str], Any]) -> Iterator[Console]:
    database = make_database("sqlite")
    Agents(make_session_factory(database.engine)).add(
        "wilma", PASSWORD, display_name="Wilma", languages=["fi", "sv", "en"]
    )
    rasa = FakeRasa("rasa-secret")
    serving = ServingThread()
    try:
        settings = dataclasses.replace(
            Settings(),
            database_url=database.url,
            rasa_url=serving.serve(rasa.app()),
            rasa_token="rasa-secret",
        )
        yield Console(serving.serve(init_app(settings)), rasa, database.engine)
    finally:
        serving.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser, locale="en-GB") as opened:
        yield opened


def wait_until(condition: Callable[[], bool], seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("timed out waiting for the condition")
        time.sleep(0.1)


# --- helpers in the page -----------------------------------------------------------------


def log_in(page: Any, console: Console, password: str = PASSWORD) -> None:
    page.goto(f"{console.url}/console")
    page.get_by_label("Username").fill("wilma")
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def request_item(page: Any, request: HandoffRequest) -> Any:
    return page.locator(f'.request[data-request-id="{request.id}"]')


def claim(page: Any, request: HandoffRequest) -> None:
    request_item(page, request).get_by_role("button", name="Claim").click()
    chat_tab(page, request).wait_for()
    page.locator(".msg-user").first.wait_for()


def chat_tab(page: Any, request: HandoffRequest) -> Any:
    return page.locator(f'.chat-tab[data-request-id="{request.id}"]')


def focused(page: Any) -> str:
    return str(page.evaluate("document.activeElement.id || document.activeElement.className"))


# --- tests -------------------------------------------------------------------------------


def test_a_wrong_password_is_told_and_the_right_one_logs_in(console, page):
    log_in(page, console, password="not-this-one")
    alert = page.locator("#login-error")
    alert.wait_for()
    assert alert.get_attribute("role") == "alert"
    assert alert.inner_text() == "Wrong username or password."
    assert focused(page) == "password"

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    page.get_by_role("heading", name="Queue").wait_for()
    assert page.locator("#agent-name").inner_text() == "Wilma"
    assert (
        page.get_by_role("switch", name="Available for chats").get_attribute("aria-checked")
        == "false"
    )
    assert page.locator("#login-view").is_hidden()


def test_a_swedish_request_shows_its_language_need_and_wait_time(console, page):
    swedish = console.request(
        "sv-1", "sv", ["kela", "identification"], waited_minutes=3, municipality_code=NARPES
    )
    log_in(page, console)
    item = request_item(page, swedish)
    item.wait_for()
    assert item.get_by_role("heading").inner_text() == "Swedish · Kela, identification"
    assert item.locator(".request-wait").inner_text() == "waiting 3 min"
    assert "web chat" in item.inner_text() and "Chat" in item.inner_text()
    assert page.title() == "(1) Digituki"


def test_the_place_and_summary_of_a_request_are_shown(console, page):
    swedish = console.request(
        "sv-1", "sv", ["email"], municipality_code=NARPES, summary="e-posten öppnas inte"
    )
    log_in(page, console)
    item = request_item(page, swedish)
    item.wait_for()
    assert "Närpiö" in item.locator(".fact-place").inner_text()
    assert "e-posten öppnas inte" in item.inner_text()
    page.get_by_role("button", name="svenska").click()
    assert "Närpes" in item.locator(".fact-place").inner_text()  # the Swedish name


def test_the_language_switch_changes_every_label_and_is_remembered(console, browser):
    swedish = console.request("sv-1", "sv", ["kela"], waited_minutes=3, municipality_code=NARPES)
    with new_page(browser, locale="fi-FI") as page:
        page.goto(f"{console.url}/console")
        assert page.locator("html").get_attribute("lang") == "fi"  # from navigator.language
        page.get_by_label("Käyttäjätunnus").fill("wilma")
        page.get_by_label("Salasana").fill(PASSWORD)
        page.get_by_role("button", name="Kirjaudu").click()
        item = request_item(page, swedish)
        item.wait_for()
        assert item.get_by_role("heading").inner_text() == "ruotsi · Kela"
        assert item.locator(".request-wait").inner_text() == "odottanut 3 min"

        page.get_by_role("button", name="svenska").click()
        assert page.locator("html").get_attribute("lang") == "sv"
        assert item.get_by_role("heading").inner_text() == "svenska · FPA"
        assert item.locator(".request-wait").inner_text() == "väntat 3 min"
        assert page.get_by_role("button", name="Logga ut").is_visible()
        assert page.get_by_role("button", name="Ta emot").is_visible()

        page.reload()
        page.get_by_role("heading", name="Kö").wait_for()  # still logged in, still Swedish


def test_claim_opens_the_chat_with_the_transcript_and_a_message_reaches_rasa(console, page):
    swedish = console.request("sv-1", "sv", ["kela"], waited_minutes=3, municipality_code=NARPES)
    console.request("fi-1", "fi", ["email"], waited_minutes=1, municipality_code=KEMPELE)
    log_in(page, console)
    claim(page, swedish)
    assert focused(page) == "message"  # the worker writes next
    transcript = page.get_by_role("log")
    expect(transcript).to_have_attribute("aria-live", "polite")  # after a quiet first render
    assert transcript.locator(".msg-bot .msg-who").first.inner_text() == "Digituki bot"
    assert "Person" in transcript.locator(".msg-user").first.inner_text()
    assert "jag vill prata med en människa" in transcript.inner_text()
    assert request_item(page, swedish).count() == 0
    assert chat_tab(page, swedish).get_attribute("aria-current") == "true"
    assert console.row(swedish.id)["state"] == "active"

    page.get_by_label("Message to the person").fill("Hej! Jag heter Wilma och hjälper dig.")
    page.get_by_label("Message to the person").press("Enter")
    wait_until(lambda: "Hej! Jag heter Wilma och hjälper dig." in console.worker_messages())
    mine = page.locator(".msg-worker", has_text="Jag heter Wilma och hjälper dig")
    mine.wait_for()
    assert mine.count() == 1 and "You" in mine.inner_text()
    assert page.get_by_label("Message to the person").input_value() == ""

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path=str(ARTIFACTS / "console-chat.png"))


def test_live_messages_arrive_once_through_the_console_socket(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    page.get_by_label("Message to the person").fill("Vad gäller det?")
    page.get_by_label("Message to the person").press("Enter")
    wait_until(lambda: "Vad gäller det?" in console.worker_messages())
    # What Rasa's event broker stores: my message (it was shown already) and an answer.
    console.say("sv-1", "worker", "Vad gäller det?", agent="Wilma")
    console.say("sv-1", "user", "Jag hittar inte FPA:s blankett")
    page.locator(".msg-user", has_text="FPA:s blankett").wait_for()
    assert page.locator(".msg-worker", has_text="Vad gäller det?").count() == 1
    page.reload()  # reconnecting: the transcript again, merged by event id
    page.locator(".msg-user", has_text="FPA:s blankett").wait_for()
    assert page.locator(".msg-worker", has_text="Vad gäller det?").count() == 1
    assert page.locator(".msg-user", has_text="FPA:s blankett").count() == 1
    expect(page.locator("#connection")).to_have_text("")  # the live connection is up


def test_shift_enter_makes_a_new_line_and_enter_sends_both_lines(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    box = page.get_by_label("Message to the person")
    box.type("Rad ett")
    box.press("Shift+Enter")
    box.type("rad två")
    assert box.input_value() == "Rad ett\nrad två"
    box.press("Enter")
    wait_until(lambda: "Rad ett\nrad två" in console.worker_messages())


def test_when_rasa_is_down_the_text_stays_and_the_worker_is_told(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    console.rasa.down = True
    box = page.get_by_label("Message to the person")
    box.fill("Är du kvar?")
    page.get_by_role("button", name="Send").click()
    error = page.locator("#message-error")
    error.wait_for()
    assert error.get_attribute("role") == "alert"
    assert error.inner_text().startswith("Not delivered")
    assert box.input_value() == "Är du kvar?"
    assert page.locator(".msg-worker", has_text="Är du kvar?").count() == 0

    console.rasa.down = False
    page.get_by_role("button", name="Send").click()
    page.locator(".msg-worker", has_text="Är du kvar?").wait_for()
    assert error.is_hidden()


def test_notes_are_saved_on_leaving_the_field_and_with_the_button(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    notes = page.get_by_label("Notes (seen only by staff)")
    notes.fill("Needs a Kela form in Swedish")
    notes.press("Tab")  # leaving the field saves
    page.locator("#notes-status", has_text="Notes saved.").wait_for()
    wait_until(lambda: console.row(swedish.id)["notes"] == "Needs a Kela form in Swedish")
    notes.fill("Needs a Kela form in Swedish; call back on Monday")
    page.get_by_role("button", name="Save notes").click()
    wait_until(lambda: console.row(swedish.id)["notes"].endswith("call back on Monday"))


def test_hand_back_and_close_with_an_outcome_remove_the_chat(console, page):
    swedish = console.request("sv-1", "sv", ["kela"], waited_minutes=2)
    finnish = console.request("fi-1", "fi", ["email"], waited_minutes=1)
    log_in(page, console)
    claim(page, swedish)
    claim(page, finnish)
    assert page.locator(".chat-tab").count() == 2

    page.get_by_role("button", name="Hand back to the bot").click()  # the Finnish chat is open
    chat_tab(page, finnish).wait_for(state="detached")
    assert console.row(finnish.id)["state"] == "returned"
    assert chat_tab(page, swedish).get_attribute("aria-current") == "true"  # the next one opens

    page.get_by_role("button", name="Close chat").click()
    assert page.locator("#end-error").inner_text() == "Choose an outcome first."
    page.get_by_label("Outcome").select_option("referred")
    page.get_by_label("Notes (seen only by staff)").fill("Sent to the library's Tuesday help desk")
    page.get_by_role("button", name="Close chat").click()
    assert page.locator("#confirm-question").inner_text() == (
        "Close this chat with the outcome “Referred elsewhere”?"
    )
    page.get_by_role("button", name="Yes, close").click()
    chat_tab(page, swedish).wait_for(state="detached")
    assert page.locator("#chat").is_hidden()
    assert page.get_by_text("No open chats.").is_visible()
    closed = console.row(swedish.id)
    assert closed["state"] == "closed" and closed["outcome"] == "referred"
    assert closed["notes"] == "Sent to the library's Tuesday help desk"
    assert focused(page) == "queue-heading"


def test_a_keyboard_alone_claims_writes_and_closes(console, page):
    swedish = console.request("sv-1", "sv", ["kela"], waited_minutes=3)
    page.goto(f"{console.url}/console")
    expect(page.get_by_label("Username")).to_be_focused()  # once the page knows no one is in
    page.keyboard.type("wilma")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Queue").wait_for()

    tab_to(page, "document.activeElement.classList.contains('claim')")
    page.keyboard.press("Enter")
    page.locator(".msg-user").first.wait_for()
    assert focused(page) == "message"
    page.keyboard.type("Hej, vad kan jag hjälpa med?")
    page.keyboard.press("Enter")
    wait_until(lambda: "Hej, vad kan jag hjälpa med?" in console.worker_messages())

    tab_to(page, "document.activeElement.id === 'outcome'")
    page.keyboard.press("ArrowDown")  # the first outcome: Helped
    assert page.locator("#outcome").input_value() == "helped"
    page.keyboard.press("Tab")
    assert focused(page) == "close-chat"
    page.keyboard.press("Space")
    assert focused(page) == "confirm-question"
    page.keyboard.press("Escape")  # not yet: back to the button
    assert focused(page) == "close-chat"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) == "confirm-yes"
    page.keyboard.press("Enter")
    chat_tab(page, swedish).wait_for(state="detached")
    assert console.row(swedish.id)["outcome"] == "helped"
    assert focused(page) == "queue-heading"


def tab_to(page: Any, is_there: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(is_there):
            return
    pytest.fail(f"not reached with Tab: {is_there}")


def test_a_new_request_is_noticed_in_the_title_and_highlighted(console, page):
    swedish = console.request("sv-1", "sv", ["kela"], waited_minutes=3)
    log_in(page, console)
    first_claim = request_item(page, swedish).get_by_role("button", name="Claim")
    first_claim.focus()  # a keyboard user is on it when the queue changes
    assert page.title() == "(1) Digituki"
    assert page.locator(".request.is-new").count() == 0  # the queue at login is not "new"

    later = console.request("en-1", "en", ["smartphone"], municipality_code=KEMPELE)
    item = request_item(page, later)
    item.wait_for(timeout=20_000)  # the socket, or the 10 s poll without it
    assert "is-new" in item.get_attribute("class")
    assert item.locator(".badge-new").inner_text() == "New"
    assert page.title() == "(2) Digituki"
    # The announcer is emptied and refilled a moment later, so screen readers say it again.
    expect(page.locator("#announcer")).to_contain_text("New request waiting: English · smartphone")
    # The queue may be drawn again more than once (socket and poll): focus ends where it was.
    expect(first_claim).to_be_focused()


def test_without_the_live_socket_the_page_says_so_and_still_updates(console, page):
    page.route_web_socket("**/api/v1/console/socket", lambda socket: socket.close())
    log_in(page, console)
    status = page.locator("#connection")
    status.get_by_text("Reconnecting…").wait_for()
    assert status.get_attribute("role") == "status"
    later = console.request("fi-1", "fi", ["email"])
    request_item(page, later).wait_for(timeout=20_000)  # polled every 10 s


def test_socket_frames_show_each_message_once(console, page):
    """The console's side of the socket protocol, against a socket played by the test."""
    swedish = console.request("sv-1", "sv", ["kela"])
    sockets: list[Any] = []
    page.route_web_socket("**/api/v1/console/socket", lambda socket: sockets.append(socket))
    log_in(page, console)
    claim(page, swedish)
    wait_until(lambda: bool(sockets))

    def message(event_id: int, sender: str, text: str, agent: str | None = None) -> str:
        return json.dumps(
            {"type": "message", "request_id": swedish.id, "event_id": event_id,
             "sender": sender, "text": text, "timestamp": time.time(), "agent": agent}
        )  # fmt: skip

    sockets[-1].send(message(101, "user", "Jag behöver hjälp med FPA-blanketten"))
    sockets[-1].send(message(101, "user", "Jag behöver hjälp med FPA-blanketten"))  # again
    page.locator(".msg-user", has_text="FPA-blanketten").wait_for()
    page.get_by_label("Message to the person").fill("Vilken blankett?")
    page.get_by_label("Message to the person").press("Enter")
    page.locator(".msg-worker", has_text="Vilken blankett?").wait_for()
    sockets[-1].send(message(102, "worker", "Vilken blankett?", "Wilma"))  # my own, echoed
    sockets[-1].send(message(103, "user", "Den för bostadsbidrag"))
    page.locator(".msg-user", has_text="bostadsbidrag").wait_for()
    assert page.locator(".msg-user", has_text="FPA-blanketten").count() == 1
    assert page.locator(".msg-worker", has_text="Vilken blankett?").count() == 1

    queue = {"type": "queue", "waiting": [], "active": []}
    sockets[-1].send(json.dumps(queue))  # a stale frame: the chat is not listed
    page.wait_for_timeout(1000)
    assert chat_tab(page, swedish).count() == 1  # kept: its request says it is still mine


def test_a_reload_keeps_the_worker_logged_in_with_the_open_chat(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    page.reload()
    chat_tab(page, swedish).wait_for()
    page.locator(".msg-user", has_text="jag vill prata med en människa").wait_for()
    page.get_by_label("Message to the person").fill("Jag är här igen.")
    page.get_by_label("Message to the person").press("Enter")  # the CSRF token survived
    wait_until(lambda: "Jag är här igen." in console.worker_messages())


def test_a_new_tab_finds_the_session_and_the_chats(console, page):
    swedish = console.request("sv-1", "sv", ["kela"])
    log_in(page, console)
    claim(page, swedish)
    other = page.context.new_page()  # same cookies, no sessionStorage
    other.goto(f"{console.url}/console")
    chat_tab(other, swedish).wait_for()
    other.get_by_label("Message to the person").fill("Från en ny flik.")
    other.get_by_label("Message to the person").press("Enter")
    wait_until(lambda: "Från en ny flik." in console.worker_messages())


def test_too_many_login_attempts_are_told(console, page):
    page.goto(f"{console.url}/console")
    for _ in range(12):
        page.get_by_label("Username").fill("wilma")
        page.get_by_label("Password").fill("wrong")
        with page.expect_response("**/api/v1/auth/login") as answer:
            page.get_by_role("button", name="Log in").click()
        if answer.value.status == 429:
            expect(page.locator("#login-error")).to_have_text(
                re.compile(r"^Too many attempts(\. Try again in \d+ min\.|, wait a minute)")
            )
            return
    pytest.fail("twelve wrong passwords were never refused with 429")


def test_no_serious_accessibility_violations_on_login_queue_and_chat(console, browser):
    if not widget_browser.AXE.exists():
        widget_browser._missing(
            f"{widget_browser.AXE} not found (make browser-tools installs axe-core with npm)"
        )
    swedish = console.request("sv-1", "sv", ["kela", "identification"], waited_minutes=3,
                              municipality_code=NARPES)  # fmt: skip
    console.request("fi-1", "fi", ["email"], municipality_code=KEMPELE)
    # The page's Content-Security-Policy would block the injected axe script.
    with new_page(browser, locale="en-GB", bypass_csp=True) as page:
        page.goto(f"{console.url}/console")
        page.get_by_label("Username").wait_for()
        assert serious_violations(page) == []
        page.get_by_label("Username").fill("wilma")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        request_item(page, swedish).wait_for()
        assert serious_violations(page) == []
        claim(page, swedish)
        page.get_by_label("Message to the person").fill("Hej!")
        page.get_by_label("Message to the person").press("Enter")
        page.locator(".msg-worker", has_text="Hej!").wait_for()
        assert serious_violations(page) == []


@pytest.mark.parametrize(
    "width, height", [(320, 640), (640, 400)], ids=["phone", "laptop-at-200-percent"]
)
def test_the_console_fits_a_phone_and_a_laptop_at_200_percent(console, browser, width, height):
    swedish = console.request("sv-1", "sv", ["kela", "identification"], municipality_code=NARPES)
    console.request("fi-1", "fi", ["email"], municipality_code=KEMPELE)
    viewport = {"width": width, "height": height}
    with new_page(browser, locale="en-GB", viewport=viewport, device_scale_factor=2) as page:
        log_in(page, console)
        claim(page, swedish)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        box = page.get_by_label("Message to the person")
        box.scroll_into_view_if_needed()
        assert box.bounding_box()["width"] > 200
        send = page.get_by_role("button", name="Send")
        assert send.bounding_box()["x"] + send.bounding_box()["width"] <= width


def test_a_call_back_request_shows_its_contact_only_after_claim(console, page):
    callback = console.request(
        "sv-1", "sv", ["banking"], kind="callback", contact=("phone", "040 123 4567")
    )
    log_in(page, console)
    item = request_item(page, callback)
    item.wait_for()
    assert "Call-back request" in item.inner_text()
    assert "040 123 4567" not in item.inner_text()
    claim(page, callback)
    link = page.locator("#chat-details").get_by_role("link", name="040 123 4567")
    assert link.get_attribute("href") == "tel:0401234567"
