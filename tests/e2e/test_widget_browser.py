"""The widget in a real browser (Debian's Chromium via Playwright) against the running stack.

Without Chromium these tests skip with a message; ``DIGITUKI_REQUIRE_BROWSER=1``
(set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.stack import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 60_000


def _missing(what: str) -> None:
    message = f"{what}; browser tests need it"
    if os.environ.get("DIGITUKI_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " (DIGITUKI_REQUIRE_BROWSER=1)")
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@contextmanager
def new_page(browser: Any, **options: Any) -> Iterator[Any]:
    """A page in a fresh browser context (desktop size unless ``options`` say otherwise)."""
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser, locale="fi-FI") as opened:
        yield opened


def bot_says(page: Any, text: str) -> None:
    """Waits until a bot message containing ``text`` is shown."""
    page.locator(".digituki-msg-bot", has_text=text).last.wait_for()


def say(page: Any, text: str) -> None:
    box = page.locator("#digituki-input")
    box.fill(text)
    box.press("Enter")


def finnish_conversation_to_cards(page: Any, web_url: str) -> None:
    page.goto(f"{web_url}/demo/fi")
    page.get_by_role("button", name="Kysy digiavusta").click()
    bot_says(page, "Digituki-avustaja")  # the greeting in the page language
    say(page, "mä en osaa käyttää sähköpostia")
    bot_says(page, "Missä kunnassa asut?")
    say(page, "asun Kempeleessä")
    bot_says(page, "Millaista apua haluat?")
    page.get_by_role("button", name="Paikan päällä").last.click()  # a quick reply
    page.locator(".digituki-card", has_text="Testikirjasto Oulu").first.wait_for()


def test_a_finnish_conversation_survives_a_reload_switches_to_swedish_and_clears(stack, page):
    finnish_conversation_to_cards(page, stack.web_url)
    card = page.locator(".digituki-card").first
    assert (
        card.get_by_role("link", name="Kartta")
        .first.get_attribute("href")
        .startswith("https://www.openstreetmap.org/")
    )
    ARTIFACTS.mkdir(exist_ok=True)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "widget-cards.png"))

    page.reload()
    if not page.locator("#digituki-input").is_visible():
        page.get_by_role("button", name="Kysy digiavusta").click()
    page.locator(".digituki-card", has_text="Testikirjasto Oulu").first.wait_for()
    assert page.locator(".digituki-msg-user", has_text="asun Kempeleessä").count() == 1

    page.locator(".digituki-lang[lang=sv]").click()
    bot_says(page, "Vi fortsätter på svenska")
    # The Finnish card stays wholly Finnish: its labels do not switch under its content.
    earlier = page.locator(".digituki-card", has_text="Testikirjasto Oulu").first
    assert "Aukioloajat" in earlier.inner_text() and "Öppettider" not in earlier.inner_text()
    assert page.locator("#digituki-input").get_attribute("placeholder") != "Kirjoita tähän"
    say(page, "och om jag bodde i Närpes då")
    bot_says(page, "Vill du se fler alternativ?")
    page.get_by_role("button", name="Annan form av hjälp").last.click()  # a Swedish quick reply
    page.locator(".digituki-card", has_text="Testichat").first.wait_for()  # remote help

    page.get_by_role("button", name="Töm samtalet").click()
    page.get_by_role("button", name="Ja, töm").click()
    bot_says(page, "Digituki-assistenten")  # a new conversation greets in Swedish
    assert page.locator(".digituki-card").count() == 0


HOURS_CONVERSATIONS = {
    # language: (launcher, need, place, quick reply, the card's name, the hours' label, the week)
    "fi": ("Kysy digiavusta", "mä en osaa käyttää sähköpostia", "asun Kempeleessä",
           "Paikan päällä", "Testikirjasto Oulu", "Aukioloajat", "ma–pe 10–18, la 10–15"),
    "sv": ("Fråga om digihjälp", "jag kan inte använda e-posten", "jag bor i Kempele",
           "På plats", "Testbiblioteket Uleåborg", "Öppettider", "mån–fre 10–18, lör 10–15"),
    "en": ("Ask about digital help", "I can't use my email", "I live in Kempele",
           "In person", "Testikirjasto Oulu", "Opening hours", "Mon–Fri 10–18, Sat 10–15"),
}  # fmt: skip
OSM_SYNTAX = re.compile(r"\b(Mo|Tu|We|Th|Fr|Sa|Su|PH)\b|\d{2}:\d{2}-|24/7|\boff\b")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_cards_say_the_opening_hours_in_words(stack, browser, language):
    launcher, need, place, form, name, label, week = HOURS_CONVERSATIONS[language]
    with new_page(browser) as page:
        page.goto(f"{stack.web_url}/demo/{language}")
        page.get_by_role("button", name=launcher).click()
        say(page, need)
        page.locator(".digituki-msg-bot").nth(1).wait_for()  # the place question
        say(page, place)
        page.get_by_role("button", name=form).last.wait_for()
        page.get_by_role("button", name=form).last.click()
        card = page.locator(".digituki-card", has_text=name).first
        card.wait_for()
        hours = card.locator(".digituki-card-row", has_text=label).inner_text()
        # "Aukioloajat: auki nyt, klo 18 asti ma–pe 10–18, la 10–15" (or when it opens)
        assert week in hours, hours
        assert card.locator(".digituki-pill").inner_text().strip()  # open now, or when it opens
        shown = page.locator(".digituki-log").inner_text()
        assert not OSM_SYNTAX.search(shown), OSM_SYNTAX.search(shown)


def embedding_page(title: str, stack: Any, server: str, extra: str = "") -> str:
    """A Finnish page of another site that embeds the widget with ``server`` as its chat server."""
    return (
        f'<!doctype html><html lang="fi"><head><title>{title}</title></head><body>'
        f'<main><h1>{title}</h1></main><script src="{stack.web_url}/widget/widget.js" '
        f'data-server="{server}" data-lang="fi" {extra} defer></script></body></html>'
    )


@contextmanager
def other_site(page_html: str) -> Iterator[str]:
    """A page on another origin of this machine (a real server: the browser lets a page
    served by the test itself load nothing from a loopback address)."""
    body = page_html.encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


# Counts the page's WebSocket connections (attempts) in window.__sockets.
COUNT_SOCKETS = (
    "window.__sockets = 0; const Native = window.WebSocket;"
    "window.WebSocket = function (url) { window.__sockets += 1; return new Native(url); };"
    "window.WebSocket.prototype = Native.prototype;"
)


def test_a_page_the_server_refuses_is_told_so_and_the_site_owner_sees_why(stack, browser):
    # A site not in DIGITUKI_WIDGET_ORIGINS embeds the widget.
    page_html = embedding_page(
        "Toinen sivusto", stack, stack.rasa_url, 'data-help-phone="0800 000 000 (demo)"'
    )
    with other_site(page_html) as site, new_page(browser) as page:
        page.add_init_script(COUNT_SOCKETS)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(site)
        page.get_by_role("button", name="Kysy digiavusta").click()
        note = page.locator(
            ".digituki-note-error", has_text="Chat ei ole käytettävissä tällä sivulla"
        )
        note.wait_for(timeout=20_000)
        assert "Voit soittaa numeroon 0800 000 000 (demo)." in note.inner_text()
        assert any(site in e and "DIGITUKI_WIDGET_ORIGINS" in e for e in errors), errors
        assert page.locator("#digituki-input").is_disabled()
        # No endless "reconnecting…": no new attempt in the next seconds.
        attempts = page.evaluate("window.__sockets")
        page.wait_for_timeout(6000)  # the next attempt of the backoff would come in 4 s
        assert "Yhdistetään uudelleen" not in page.locator(".digituki-status").inner_text()
        assert page.evaluate("window.__sockets") == attempts >= 2


def test_a_message_the_server_cannot_get_is_marked_not_sent_and_kept(stack, browser):
    # The page loads, but nothing listens where its chat server should be.
    page_html = embedding_page("Katko", stack, f"http://127.0.0.1:{free_port()}")
    with other_site(page_html) as site, new_page(browser) as page:
        page.add_init_script(COUNT_SOCKETS)
        page.goto(site)
        page.get_by_role("button", name="Kysy digiavusta").click()
        say(page, "tarvitsen apua tabletin kanssa")
        message = page.locator(".digituki-msg-user", has_text="tarvitsen apua tabletin kanssa")
        message.get_by_text("Ei lähetetty").wait_for()
        retry = message.get_by_role(
            "button", name="Yritä uudelleen: lähetä lähettämättömät viestit"
        )
        assert retry.inner_text() == "Yritä uudelleen"
        # The widget gives up after five failed connections (about 15 s here): still not sent.
        page.locator(".digituki-note-error", has_text="Chat ei ole nyt käytettävissä").wait_for()
        assert message.get_by_text("Ei lähetetty").is_visible()
        # "Try again" connects at once, not after the 30 s the backoff has reached.
        attempts = page.evaluate("window.__sockets")
        retry.click()
        page.wait_for_function("n => window.__sockets > n", arg=attempts, timeout=5000)
        page.locator(".digituki-status", has_text="Yhdistetään").wait_for()
        assert message.get_by_text("Ei lähetetty").is_visible()

        page.reload()  # nothing is lost: the message is still there, still marked
        if not page.locator("#digituki-input").is_visible():
            page.get_by_role("button", name="Kysy digiavusta").click()
        message.get_by_text("Ei lähetetty").wait_for()
        assert message.count() == 1


def test_messages_written_while_the_connection_is_down_go_once_and_in_order(stack, page):
    sockets: list[Any] = []  # the page's widget connections, through the test
    to_server: list[dict[str, Any]] = []  # the frames that reached the server
    down = threading.Event()

    def connection(socket: Any) -> None:
        sockets.append(socket)
        if down.is_set():
            return  # the socket opens, but no server answers its hello
        server = socket.connect_to_server()

        def forward(frame: str) -> None:
            to_server.append(json.loads(frame))
            server.send(frame)

        socket.on_message(forward)

    page.route_web_socket("**/webhooks/widget/websocket", connection)
    page.goto(f"{stack.web_url}/demo/fi")
    page.get_by_role("button", name="Kysy digiavusta").click()
    bot_says(page, "Digituki-avustaja")

    down.set()
    sockets[-1].close()
    page.locator(".digituki-status", has_text="Yhteys katkesi").wait_for()
    written = ["tarvitsen apua tabletin kanssa", "asun Kempeleessä"]
    for text in written:
        say(page, text)
        page.locator(".digituki-msg-user", has_text=text).get_by_text("Ei lähetetty").wait_for()
    for _ in range(100):  # the widget's new connection, which gets no answer
        if len(sockets) > 1:
            break
        page.wait_for_timeout(100)
    assert len(sockets) == 2, sockets
    assert not [frame for frame in to_server if frame["type"] == "message"]

    down.clear()
    sockets[-1].close()  # the widget reconnects by itself (after its backoff)
    bot_says(page, "Missä kunnassa asut?")
    bot_says(page, "Millaista apua haluat?")
    assert page.get_by_text("Ei lähetetty").count() == 0
    sent = [frame["text"] for frame in to_server if frame["type"] == "message"]
    assert sent == written
    session_id = page.evaluate("JSON.parse(sessionStorage.getItem('digituki.session_id'))")
    said = [e["text"] for e in stack.tracker(session_id)["events"] if e["event"] == "user"]
    assert [said.count(text) for text in written] == [1, 1], said


def test_user_text_is_shown_as_text_never_as_html(stack, page):
    page.goto(f"{stack.web_url}/demo/en")
    page.get_by_role("button", name="Ask about digital help").click()
    bot_says(page, "Digituki assistant")
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    payload = '<img src=x onerror="alert(1)"><b>bold</b>'
    say(page, payload)
    shown = page.locator(".digituki-msg-user").last
    shown.wait_for()
    assert payload in shown.inner_text()
    assert shown.locator("img, b").count() == 0 and alerts == []


def test_a_keyboard_alone_completes_a_conversation(stack, page):
    page.goto(f"{stack.web_url}/demo/fi")
    for _ in range(30):  # from the top of the page to the launcher
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('digituki-launcher')"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    bot_says(page, "Digituki-avustaja")
    assert page.evaluate("document.activeElement.id") == "digituki-input"
    page.keyboard.type("tarvitsen apua tabletin kanssa Kempeleessä")
    page.keyboard.press("Enter")
    bot_says(page, "Millaista apua haluat?")
    # To the first quick reply ("Paikan päällä") with Shift+Tab from the input, then Enter.
    reply = page.locator(".digituki-reply", has_text="Paikan päällä").last
    for _ in range(40):
        page.keyboard.press("Shift+Tab")
        if reply.evaluate("node => node === document.activeElement"):
            break
    else:
        pytest.fail("the quick reply cannot be reached with the keyboard")
    page.keyboard.press("Enter")
    # The answered question's buttons are disabled and the focus is back in the box.
    assert page.evaluate("document.activeElement.id") == "digituki-input"
    answered = reply.evaluate(
        "node => [...node.parentNode.querySelectorAll('button')].map(b => b.disabled)"
    )
    assert answered and all(answered), answered
    page.locator(".digituki-card", has_text="Testikerho Kempele").first.wait_for()
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement.classList.contains('digituki-launcher')")


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical WCAG 2.1 A/AA findings on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}
        })"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_no_serious_accessibility_violations_with_the_widget_open_and_with_cards(stack, browser):
    if not AXE.exists():
        _missing(f"{AXE} not found (make browser-tools installs axe-core with npm)")
    # The demo page's Content-Security-Policy would block the injected axe script.
    with new_page(browser, bypass_csp=True) as page:
        page.goto(f"{stack.web_url}/demo/fi")
        page.get_by_role("button", name="Kysy digiavusta").click()
        bot_says(page, "Digituki-avustaja")
        assert serious_violations(page) == []
        say(page, "tarvitsen apua sähköpostin kanssa Oulussa paikan päällä")
        page.locator(".digituki-card").first.wait_for()
        assert serious_violations(page) == []


def test_the_widget_works_on_a_narrow_phone_screen(stack, browser):
    with new_page(browser, viewport={"width": 320, "height": 640}, device_scale_factor=2) as page:
        page.goto(f"{stack.web_url}/demo/sv")
        page.get_by_role("button", name="Fråga om digihjälp").click()
        bot_says(page, "Digituki-assistenten")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320  # nothing pushes the page sideways
        # "Talk to a person" is in sight, not folded into the menu.
        assert page.get_by_role("button", name="Tala med en människa").is_visible()
        say(page, "jag behöver hjälp med smarttelefonen i Närpes på plats")
        page.locator(".digituki-card", has_text="Närpes").first.wait_for()


# The newest message is in sight: all of it, or (when taller than the room) its start.
LAST_MESSAGE_IN_SIGHT = """() => {
    const last = [...document.querySelectorAll('.digituki-msg')].pop().getBoundingClientRect();
    const room = document.querySelector('#digituki-input').getBoundingClientRect().top;
    return last.top >= 0 && (last.bottom <= room + 1 || last.top + 40 <= room);
}"""


def test_at_the_largest_text_the_conversation_keeps_half_the_panel(stack, browser):
    with new_page(browser) as page:
        page.goto(f"{stack.web_url}/demo/fi")
        page.get_by_role("button", name="Kysy digiavusta").click()
        bot_says(page, "Digituki-avustaja")
        larger = page.get_by_role("button", name="Suurenna tekstiä")
        while larger.get_attribute("aria-disabled") != "true":
            larger.click()
        say(page, "tarvitsen apua tabletin kanssa Kempeleessä")
        bot_says(page, "Millaista apua haluat?")
        page.wait_for_timeout(300)  # the log scrolls to the answer
        log, panel = (
            page.locator(selector).bounding_box()
            for selector in (".digituki-log", ".digituki-panel")
        )
        assert log["height"] >= panel["height"] / 2, (log, panel)
        assert page.evaluate(LAST_MESSAGE_IN_SIGHT)
        assert page.get_by_role("button", name="Puhu ihmisen kanssa").is_visible()


def test_at_400_percent_zoom_the_newest_message_shows_without_scrolling(stack, browser):
    # 400 % zoom of a 1280 × 900 window: 320 × 225 CSS pixels.
    with new_page(browser, viewport={"width": 320, "height": 225}, device_scale_factor=4) as page:
        page.goto(f"{stack.web_url}/demo/fi")
        page.get_by_role("button", name="Kysy digiavusta").click()
        bot_says(page, "Digituki-avustaja")
        say(page, "tarvitsen apua tabletin kanssa Kempeleessä")
        bot_says(page, "Millaista apua haluat?")
        page.wait_for_timeout(300)
        assert page.evaluate(LAST_MESSAGE_IN_SIGHT)


def test_use_my_location_answers_the_place_question(stack, browser):
    with new_page(
        browser,
        geolocation={"latitude": 65.0121, "longitude": 25.4651},
        permissions=["geolocation"],
    ) as page:
        page.goto(f"{stack.web_url}/demo/fi")
        page.get_by_role("button", name="Kysy digiavusta").click()
        bot_says(page, "Digituki-avustaja")
        say(page, "tarvitsen apua sähköpostin kanssa")
        bot_says(page, "Missä kunnassa asut?")
        page.get_by_role("button", name="Käytä sijaintiani").click()  # asked only now
        bot_says(page, "Millaista apua haluat?")  # the place is known from the browser
        page.get_by_role("button", name="Paikan päällä").last.click()
        page.locator(".digituki-card", has_text="Testikirjasto Oulu").first.wait_for()
