"""The coordinators' report page in a real browser (Debian's Chromium via Playwright).

The web service runs in-process as for the console's browser tests (their
``console`` fixture), and its report stream holds the scripted conversations of
``tests/integration/test_reports.py``: week 2026-W48, Pohjois-Karjala (12),
Pohjanmaa (15) and one conversation whose region is not known.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.db.engine import make_session_factory
from bot.handoff import Agents
from connectors.event_store import DatabaseEventBroker
from tests.e2e import test_console_browser as console_browser
from tests.e2e import test_widget_browser as widget_browser
from tests.integration.test_reports import SCRIPT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

browser = widget_browser.browser  # the module's Chromium (skips when it is missing)
console = console_browser.console  # the web service in a thread, with the worker "wilma"
page = console_browser.page  # en-GB
new_page = widget_browser.new_page
serious_violations = widget_browser.serious_violations
focused = console_browser.focused
PASSWORD = console_browser.PASSWORD
ARTIFACTS = console_browser.ARTIFACTS

Console = console_browser.Console
PERIOD = {"since": "2026-11-23", "until": "2026-11-29"}
METRICS = [
    "conversations", "needs", "recommendations", "unmet", "unmet_none", "unmet_distance",
    "unmet_language", "handoffs", "callbacks", "handoffs_helped", "handoffs_unanswered",
]  # fmt: skip
LANGUAGES = {"fi": "Finnish", "sv": "Swedish", "en": "English", "": "language unknown"}


@pytest.fixture
def reports(console: Console) -> Console:
    """The console's web service with a coordinator of Pohjanmaa, an administrator and the week."""
    agents = Agents(make_session_factory(console.engine))
    agents.add("pohjanmaa", PASSWORD, display_name="Pia", role="coordinator",
               languages=["fi", "sv"], region_codes=["15"])  # fmt: skip
    agents.add("kaikki", PASSWORD, display_name="Aino", role="admin", languages=["fi"])
    broker = DatabaseEventBroker(console.engine.url.render_as_string(hide_password=False))
    for events in SCRIPT:
        for event in events:
            broker.publish(event)
    return console


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    with new_page(browser, locale="en-GB", viewport={"width": 320, "height": 640}) as opened:
        yield opened


# --- helpers in the page -----------------------------------------------------------------


def log_in(page: Any, reports: Console, username: str) -> None:
    """Logs in on the report page; the first report (the last four weeks) is shown."""
    page.goto(f"{reports.url}/reports")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#status")).to_contain_text("Report updated")


def update(page: Any) -> None:
    """Presses Update and waits for the answer to be shown."""
    page.get_by_role("button", name="Update").click()
    expect(page.locator("#results")).not_to_have_attribute("aria-busy", "true")
    expect(page.locator("#filters-error")).to_be_empty()


def show_the_week(page: Any) -> None:
    page.get_by_label("From", exact=True).fill(PERIOD["since"])
    page.get_by_label("To", exact=True).fill(PERIOD["until"])
    update(page)


def api_report(page: Any, reports: Console, **query: str) -> dict[str, Any]:
    """The API's answer to the same session as the page (the context's cookies go along)."""
    answer = page.request.get(f"{reports.url}/api/v1/reports", params={**PERIOD, **query})
    assert answer.ok
    return dict(answer.json())


def figure(page: Any, metric: str) -> str:
    return str(page.locator(f'#figures [data-metric="{metric}"] dd').inner_text())


def table(page: Any, selector: str) -> list[list[str]]:
    """The body rows of a table, each as its header and data cells' texts."""
    return [
        [cell.strip() for cell in row.locator("th, td").all_inner_texts()]
        for row in page.locator(f"{selector} tbody tr").all()
    ]


def region_names(answer: dict[str, Any]) -> dict[str, str]:
    return {"": "Region unknown", **{r["code"]: r["name_fi"] for r in answer["regions"]}}


def expected_region_table(answer: dict[str, Any]) -> list[list[str]]:
    """The API's totals by region and language as the table's rows (sorted: the page orders by name)."""
    names = region_names(answer)
    return sorted(
        [names[t["region"]], LANGUAGES[t["language"]], *[str(t[m]) for m in METRICS]]
        for t in answer["totals"]["region_language"]
    )


def gaps_chart(page: Any) -> dict[str, str]:
    """The bars of unmet needs by region and language: label -> the value shown at the bar."""
    bars = page.locator("#gaps-chart g.gap")
    assert bars.locator("rect.bar").count() == bars.count() > 0
    return {
        bar.locator("text.gap-label").text_content(): bar.locator("text.bar-value").text_content()
        for bar in bars.all()
    }


def week_chart(page: Any, week: str) -> dict[str, str]:
    """The week's two columns: metric -> the value shown above it."""
    columns = page.locator(f'#weeks-chart g.week[data-week="{week}"]')
    assert columns.locator("rect.bar").count() == 2
    return {
        metric: columns.locator(f'text.bar-value[data-metric="{metric}"]').text_content()
        for metric in ("conversations", "unmet")
    }


# --- tests -------------------------------------------------------------------------------


def test_a_coordinator_sees_their_region_in_figures_charts_tables_and_the_csv(reports, page):
    log_in(page, reports, "pohjanmaa")
    assert focused(page) == "report-heading"
    today = dt.date.today()  # the browser's clock and timezone are this machine's
    assert page.get_by_label("To", exact=True).input_value() == today.isoformat()
    first = today - dt.timedelta(days=27)  # four weeks, today included
    assert page.get_by_label("From", exact=True).input_value() == first.isoformat()
    assert page.get_by_label("Distance limit (km)").input_value() == "30"
    region = page.get_by_label("Region", exact=True)
    assert region.locator("option").all_inner_texts() == ["All my regions", "Pohjanmaa"]

    show_the_week(page)
    answer = api_report(page, reports)
    [week] = answer["totals"]["week"]
    assert (week["conversations"], week["unmet"]) == (2, 2)
    for metric in ("conversations", "needs", "recommendations", "unmet", "handoffs"):
        assert figure(page, metric) == str(week[metric]), metric
    assert week_chart(page, "2026-W48") == {"conversations": "2", "unmet": "2"}
    assert page.locator("#weeks-chart svg[role=img] > title").text_content() == (
        "Conversations and unmet needs per week"
    )
    assert (
        "week 48/2026: conversations 2, unmet needs 2"
        in page.locator("#weeks-chart svg > desc").text_content()
    )
    assert gaps_chart(page) == {"Pohjanmaa · Swedish": "2"}

    rows = table(page, "#region-table")
    assert sorted(rows) == expected_region_table(answer)
    assert rows[0][:2] == ["Pohjanmaa", "Swedish"] and rows[0][2 + METRICS.index("unmet")] == "2"
    topics = {row[0]: row[1:] for row in table(page, "#topic-table")}
    assert set(topics) == {"online banking", "email"}
    assert topics["online banking"][METRICS.index("unmet_distance")] == "1"
    assert topics["email"][METRICS.index("unmet_language")] == "1"
    header = page.locator("#region-table thead th")
    assert header.first.get_attribute("scope") == "col"
    assert page.locator("#region-table tbody th").first.get_attribute("scope") == "row"

    with page.expect_download() as started:
        page.get_by_role("link", name="Download CSV").click()
    download = started.value
    assert download.suggested_filename == "digituki-report-2026-11-23-2026-11-29.csv"
    with open(download.path(), encoding="utf-8", newline="") as file:
        downloaded = list(csv.DictReader(file))
    as_text = [{k: "" if v is None else str(v) for k, v in r.items()} for r in answer["rows"]]
    assert downloaded == as_text and {r["region"] for r in downloaded} == {"15"}

    page.get_by_role("button", name="svenska").click()
    swedish = page.get_by_label("Landskap", exact=True).locator("option")
    assert swedish.all_inner_texts() == ["Alla mina landskap", "Österbotten"]
    assert gaps_chart(page) == {"Österbotten · svenska": "2"}
    assert table(page, "#region-table")[0][:2] == ["Österbotten", "svenska"]


def test_an_administrator_picks_a_region_and_a_wider_distance(reports, page):
    log_in(page, reports, "kaikki")
    region = page.get_by_label("Region", exact=True)
    assert region.locator("option").first.inner_text() == "All regions"
    assert region.locator("option").count() == 1 + 19
    show_the_week(page)
    answer = api_report(page, reports)
    assert sorted(table(page, "#region-table")) == expected_region_table(answer)
    assert [row[0] for row in table(page, "#region-table")] == [
        "Pohjanmaa", "Pohjois-Karjala", "Pohjois-Karjala", "Region unknown",
    ]  # fmt: skip
    assert figure(page, "unmet") == "3"
    assert gaps_chart(page) == {"Pohjanmaa · Swedish": "2", "Pohjois-Karjala · English": "1"}
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)

    region.select_option(label="Pohjois-Karjala")
    update(page)
    assert {row[0] for row in table(page, "#region-table")} == {"Pohjois-Karjala"}
    only = api_report(page, reports, region="12")
    assert sorted(table(page, "#region-table")) == expected_region_table(only)
    assert figure(page, "conversations") == "2"
    assert "region=12" in page.get_by_role("link", name="Download CSV").get_attribute("href")

    # Närpes' in-person help 75 km away meets the need when 100 km is near enough.
    region.select_option(label="All regions")
    page.get_by_label("Distance limit (km)").fill("100")
    update(page)
    assert figure(page, "unmet") == "2"
    assert gaps_chart(page) == {"Pohjanmaa · Swedish": "1", "Pohjois-Karjala · English": "1"}
    assert "unmet_km=100" in page.get_by_role("link", name="Download CSV").get_attribute("href")


def test_a_support_worker_is_told_that_reports_are_for_coordinators(reports, page):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{reports.url}/reports")
    page.get_by_label("Username").fill("wilma")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    message = page.locator("#denied-message")
    expect(message).to_contain_text("Reports are for coordinators and administrators.")
    assert message.get_attribute("role") == "alert"
    assert page.locator("#report-view").is_hidden()
    assert not [url for url in asked if "/api/v1/reports" in url]


def test_the_console_links_coordinators_to_the_report_in_the_same_session(reports, page):
    page.goto(f"{reports.url}/console")
    page.get_by_label("Username").fill("pohjanmaa")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Queue").wait_for()
    page.get_by_role("link", name="Reports").click()
    expect(page.locator("#status")).to_contain_text("Report updated")  # no second login
    assert page.locator("#agent-name").inner_text() == "Pia"

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username").wait_for()
    page.goto(f"{reports.url}/console")
    console_browser.log_in(page, reports)  # wilma, a support worker
    page.get_by_role("heading", name="Queue").wait_for()
    assert page.get_by_role("link", name="Reports").count() == 0


def test_wrong_filters_and_api_errors_are_told_in_an_alert(reports, page):
    log_in(page, reports, "pohjanmaa")
    alert = page.locator("#filters-error")
    assert alert.get_attribute("role") == "alert"

    page.get_by_label("From", exact=True).fill("2026-11-30")
    page.get_by_label("To", exact=True).fill("2026-11-23")
    page.get_by_role("button", name="Update").click()
    expect(alert).to_have_text("The first day is after the last day.")
    assert page.get_by_label("From", exact=True).get_attribute("aria-invalid") == "true"
    assert focused(page) == "since"

    page.route(
        re.compile(r"/api/v1/reports\?"),
        lambda route: route.fulfill(
            status=403, json={"error": "outside_regions", "message": "that region is not yours"}
        ),
    )
    page.get_by_label("From", exact=True).fill(PERIOD["since"])
    page.get_by_role("button", name="Update").click()
    expect(alert).to_have_text("That region is not one of yours.")

    page.unroute(re.compile(r"/api/v1/reports\?"))
    page.route(
        re.compile(r"/api/v1/reports\?"),
        lambda route: route.fulfill(
            status=400, json={"error": "bad_query", "message": "unmet_km must be a number"}
        ),
    )
    page.get_by_role("button", name="Update").click()
    expect(alert).to_have_text("The report could not be made: unmet_km must be a number")
    assert alert.locator("span").get_attribute("lang") == "en"  # the server's own words


def test_the_keyboard_alone_logs_in_updates_and_reaches_the_download_and_the_tables(reports, page):
    page.goto(f"{reports.url}/reports")
    page.get_by_label("Username").focus()
    page.keyboard.type("kaikki")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Report updated")
    visited: list[str] = []
    for _ in range(20):  # from the heading through the filters and past the results
        page.keyboard.press("Tab")
        if visited and visited[-1] == focused(page):
            continue  # a date field's day, month and year are stops of their own
        visited.append(focused(page))
        if visited[-1] == "update":
            page.keyboard.press("Enter")
            expect(page.locator("#status")).to_contain_text("Report updated")
    assert visited[:5] == ["region", "since", "until", "unmet-km", "update"]
    assert visited[5:8] == ["csv-link", "region-scroll", "topic-scroll"]


def test_the_report_fits_a_phone_and_its_tables_scroll_in_their_box(reports, phone):
    log_in(phone, reports, "kaikki")
    show_the_week(phone)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 320
    scroller = phone.locator("#region-scroll")
    assert scroller.evaluate("box => box.scrollWidth > box.clientWidth")  # wide: it scrolls
    assert scroller.get_attribute("tabindex") == "0"  # and the keyboard reaches it
    assert phone.locator("#gaps-chart g.gap").count() == 2


def test_no_serious_accessibility_violations_on_login_and_report(reports, browser):
    if not widget_browser.AXE.exists():
        widget_browser._missing(
            f"{widget_browser.AXE} not found (make browser-tools installs axe-core with npm)"
        )
    # The page's Content-Security-Policy would block the injected axe script.
    with new_page(browser, locale="en-GB", bypass_csp=True) as page:
        page.goto(f"{reports.url}/reports")
        page.get_by_label("Username").wait_for()
        assert serious_violations(page) == []
        log_in(page, reports, "kaikki")
        show_the_week(page)
        assert serious_violations(page) == []
        page.get_by_role("button", name="suomi").click()
        page.get_by_role("button", name="Päivitä").wait_for()  # redrawn in Finnish
        assert serious_violations(page) == []


def test_feedback_counts_and_comments_are_shown_masked_and_as_text(reports, page):
    log_in(page, reports, "pohjanmaa")
    show_the_week(page)
    expect(page.locator("#feedback-counts")).to_have_text("👍 0 · 👎 1")  # Pohjanmaa only
    [comment] = page.locator("#comments li").all_inner_texts()
    assert comment == "2026-W48 · Pohjanmaa · Swedish: för långt bort, ring mig [phone]"
    assert "040 123 4567" not in page.content()
