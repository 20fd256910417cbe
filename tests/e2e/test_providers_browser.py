"""The coordinators' provider upkeep page in a real browser (Debian's Chromium via Playwright).

The web service runs in-process on a free port, in a background thread (the
console tests' :class:`ServingThread`), with a migrated SQLite database holding
the search fixture providers. The coordinator may keep the providers of
Pohjanmaa (region 15) only: narpes-sv and vaasa-sv.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bot.config import Settings
from bot.db.engine import make_session_factory
from bot.geo import Gazetteer
from bot.handoff import Agents
from bot.providers.files import COLUMNS
from bot.providers.importer import provider_row
from bot.providers.repository import SqlProviderRepository
from bot.web.app import init_app
from tests.conftest import FIXTURES
from tests.e2e import test_widget_browser as widget_browser
from tests.e2e.test_console_browser import ServingThread
from tests.helpers import load_providers

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

browser = widget_browser.browser  # the module's Chromium (skips when it is missing)
new_page = widget_browser.new_page
serious_violations = widget_browser.serious_violations

PASSWORD = "kirjasto-2026-syksy"
POHJANMAA = "15"
ARTIFACTS = Path(__file__).parent / "artifacts"


@dataclass
class Upkeep:
    """The running web service and the providers in its database."""

    url: str
    providers: SqlProviderRepository
    gazetteer: Gazetteer

    def row(self, provider_id: str, **changes: str) -> dict[str, str]:
        """A stored provider as a row of the import format, with ``changes``."""
        provider = self.providers.get(provider_id)
        assert provider is not None, provider_id
        return {**provider_row(provider, self.gazetteer), **changes}


@pytest.fixture
def upkeep(make_database: Callable[[str], Any], gazetteer: Gazetteer) -> Iterator[Upkeep]:
    database = make_database("sqlite")
    sessions = make_session_factory(database.engine)
    agents = Agents(sessions)
    agents.add(
        "pohjanmaa",
        PASSWORD,
        display_name="Pia",
        role="coordinator",
        languages=["sv", "fi"],
        region_codes=[POHJANMAA],
    )
    agents.add("wilma", PASSWORD, display_name="Wilma", languages=["fi", "sv"])
    providers = SqlProviderRepository(sessions)
    providers.upsert(load_providers(FIXTURES / "search_providers.yml", gazetteer))
    serving = ServingThread()
    try:
        settings = dataclasses.replace(Settings(), database_url=database.url)
        yield Upkeep(serving.serve(init_app(settings)), providers, gazetteer)
    finally:
        serving.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with new_page(browser, locale="en-GB") as opened:
        yield opened


# --- helpers in the page -----------------------------------------------------------------


def log_in(page: Any, upkeep: Upkeep, username: str = "pohjanmaa") -> None:
    page.goto(f"{upkeep.url}/providers")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def listed(page: Any) -> list[str]:
    """The ids in the list, in the order shown."""
    return list(page.locator("#providers-body .row-id").all_inner_texts())


def list_row(page: Any, provider_id: str) -> Any:
    return page.locator("#providers-body tr").filter(
        has=page.locator(f'button[data-provider-id="{provider_id}"]')
    )


def open_provider(page: Any, provider_id: str) -> None:
    page.locator(f'button[data-provider-id="{provider_id}"]').click()
    expect(page.locator("#editor-heading")).to_be_focused()


def save(page: Any) -> None:
    page.get_by_role("button", name="Save changes").click()


def csv_file(folder: Path, *rows: dict[str, str]) -> Path:
    """A CSV file of the import format (the header is the importer's columns)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = folder / f"providers-{len(list(folder.glob('*.csv')))}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def preview(page: Any, path: Path) -> None:
    page.get_by_label("File", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview-heading")).to_be_focused()


# --- tests -------------------------------------------------------------------------------


def test_a_coordinator_sees_only_their_regions_and_search_narrows_the_list(upkeep, page):
    log_in(page, upkeep)
    status = page.locator("#list-status")
    expect(status).to_have_text("2 providers")
    assert status.get_attribute("role") == "status"
    assert sorted(listed(page)) == ["narpes-sv", "vaasa-sv"]
    expect(page.locator("#agent-name")).to_have_text("Pia")
    narpes = list_row(page, "narpes-sv")
    assert narpes.locator("td").all_inner_texts() == [
        "Närpiö", "in_person", "smartphone", "sv", "Active",
    ]  # fmt: skip

    page.get_by_label("Search", exact=True).fill("närpes")  # searched as one types
    expect(status).to_have_text("1 provider")
    assert listed(page) == ["narpes-sv"]

    page.get_by_label("Search", exact=True).fill("")
    page.get_by_label("Show").select_option("false")
    expect(page.get_by_text("No providers match.")).to_be_visible()
    expect(status).to_have_text("0 providers")

    page.get_by_label("Show").select_option("")
    page.get_by_role("button", name="svenska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Serviceleverantörer")
    expect(status).to_have_text("2 serviceleverantörer")
    expect(narpes.get_by_role("button")).to_have_text("Testpunkt Närpes")  # the Swedish name


def test_an_edit_is_saved_and_only_what_changed_is_sent(upkeep, page):
    log_in(page, upkeep)
    open_provider(page, "narpes-sv")
    expect(page.get_by_role("heading", name="Edit: Testipiste Närpiö")).to_be_visible()
    assert page.get_by_label("Id", exact=True).input_value() == "narpes-sv"
    assert page.get_by_label("Id", exact=True).get_attribute("readonly") is not None
    assert page.get_by_label("Free of charge").input_value() == ""  # not known
    assert "Now: Närpiö (545)" in page.locator("#h-municipality").inner_text()

    page.get_by_label("Opening hours").fill("Mo-Fr 10:00-14:00")
    with page.expect_request("**/api/v1/providers/narpes-sv") as sent:
        save(page)
    sent_body = sent.value.post_data_json
    assert sent_body["fields"] == {"opening_hours": "Mo-Fr 10:00-14:00"}
    assert set(sent_body) == {"fields", "version"}  # the version it was read at
    expect(page.locator("#edit-status")).to_have_text("Saved: Testipiste Närpiö.")
    stored = upkeep.providers.get("narpes-sv")
    assert stored.opening_hours == "Mo-Fr 10:00-14:00"
    assert stored.phone == "+358 000 0000 901"  # what was not sent stays

    save(page)  # again, with nothing changed
    expect(page.locator("#edit-status")).to_have_text("Nothing to save: no field was changed.")


def test_an_invalid_value_is_shown_next_to_its_field_and_nothing_is_saved(upkeep, page):
    log_in(page, upkeep)
    open_provider(page, "narpes-sv")
    topics = page.get_by_label("Topics")
    topics.fill("cooking")
    page.get_by_label("Opening hours").fill("Mo-Fr 09:00-12:00")
    save(page)

    alert = page.locator("#edit-error")
    expect(alert).to_have_text("Not saved. Correct the marked fields: Topics.")
    assert alert.get_attribute("role") == "alert"
    error = page.locator('.edit-field[data-column="topics"] .field-error')  # next to the field
    expect(error).to_contain_text("unknown value 'cooking'")
    expect(topics).to_have_attribute("aria-invalid", "true")
    assert "e-topics" in topics.get_attribute("aria-describedby")
    expect(topics).to_be_focused()
    stored = upkeep.providers.get("narpes-sv")
    assert stored.topics == {"smartphone"} and stored.opening_hours is None

    topics.fill("smartphone;email")
    save(page)
    expect(page.locator("#edit-status")).to_have_text("Saved: Testipiste Närpiö.")
    expect(error).to_be_hidden()
    expect(topics).not_to_have_attribute("aria-invalid", "true")
    assert upkeep.providers.get("narpes-sv").topics == {"smartphone", "email"}


def test_a_save_after_someone_elses_is_refused_and_shows_their_change(upkeep, page):
    log_in(page, upkeep)
    open_provider(page, "narpes-sv")
    # Another coordinator saves a new phone number meanwhile.
    other = upkeep.providers.get("narpes-sv")
    upkeep.providers.upsert([dataclasses.replace(other, phone="+358 000 0000 909")])
    page.get_by_label("Opening hours").fill("Mo-Fr 10:00-14:00")
    save(page)
    expect(page.locator("#edit-error")).to_have_text(
        "Not saved: someone else saved this provider meanwhile (fields they changed: Phone). "
        "Their changes are shown now; yours are still in the form. Check and save again."
    )
    assert upkeep.providers.get("narpes-sv").opening_hours is None
    assert page.get_by_label("Phone").input_value() == "+358 000 0000 909"
    assert page.get_by_label("Opening hours").input_value() == "Mo-Fr 10:00-14:00"
    save(page)  # knowingly, on top of their change
    expect(page.locator("#edit-status")).to_have_text("Saved: Testipiste Närpiö.")
    stored = upkeep.providers.get("narpes-sv")
    assert (stored.phone, stored.opening_hours) == ("+358 000 0000 909", "Mo-Fr 10:00-14:00")


def test_moving_a_provider_out_of_the_regions_is_refused(upkeep, page):
    log_in(page, upkeep)
    open_provider(page, "narpes-sv")
    page.get_by_label("Municipality").fill("Oulu")
    save(page)
    expect(page.locator("#edit-error")).to_have_text(
        "Not saved: that municipality is outside your regions. "
        "You can only keep providers in your own regions."
    )
    expect(page.get_by_label("Municipality")).to_be_focused()
    assert upkeep.providers.get("narpes-sv").municipality_code == "545"

    page.get_by_label("Municipality").fill("Korsholm")  # Mustasaari: still Pohjanmaa
    save(page)
    expect(page.locator("#edit-status")).to_have_text("Saved: Testipiste Närpiö.")
    assert upkeep.providers.get("narpes-sv").municipality_code == "499"
    expect(list_row(page, "narpes-sv").locator("td").first).to_have_text("Mustasaari")


def test_deactivating_asks_first_and_the_list_shows_it_inactive(upkeep, page):
    log_in(page, upkeep)
    open_provider(page, "vaasa-sv")
    toggle = page.get_by_role("button", name="Deactivate", exact=True)
    toggle.click()
    question = page.locator("#confirm-question")
    expect(question).to_be_focused()
    expect(question).to_have_text(
        "Deactivate “Testituki Vaasa”? The bot stops suggesting it. "
        "Nothing is deleted, and you can activate it again."
    )
    page.get_by_role("button", name="Cancel").click()
    expect(toggle).to_be_focused()
    assert upkeep.providers.get("vaasa-sv").active is True

    toggle.click()
    page.get_by_role("button", name="Yes, deactivate").click()
    expect(list_row(page, "vaasa-sv").locator(".badge-state")).to_have_text("Inactive")
    expect(page.locator("#editor-state")).to_have_text("Inactive: the bot does not suggest it")
    expect(page.locator("#announcer")).to_have_text("“Testituki Vaasa” is now inactive.")
    assert upkeep.providers.get("vaasa-sv").active is False

    page.get_by_label("Show").select_option("false")
    expect(page.locator("#list-status")).to_have_text("1 provider")
    assert listed(page) == ["vaasa-sv"]
    page.get_by_role("button", name="Activate again").click()
    page.get_by_role("button", name="Yes, activate").click()
    expect(page.locator("#editor-state")).to_have_text("Active: the bot suggests it")
    assert upkeep.providers.get("vaasa-sv").active is True


def test_an_upload_is_previewed_then_applied(upkeep, page, tmp_path):
    upload = csv_file(
        tmp_path,
        upkeep.row("narpes-sv", phone="+358 000 0000 903"),
        upkeep.row(
            "vaasa-sv",
            id="korsholm-new",
            name_fi="Testipiste Mustasaari",
            name_sv="Testpunkt Korsholm",
            municipality="Korsholm",
        ),
    )
    log_in(page, upkeep)
    expect(page.locator("#list-status")).to_have_text("2 providers")
    preview(page, upload)
    expect(page.locator("#upload-status")).to_have_text(
        "Preview ready: 1 new, 1 changed, 0 unchanged."
    )
    expect(page.locator("#preview-new-list li")).to_have_text(["korsholm-new"])
    expect(page.locator("#preview-changed-list li")).to_have_text(["narpes-sv: phone"])
    expect(page.locator("#preview-outside")).to_be_hidden()
    expect(page.locator("#preview-errors")).to_be_hidden()
    assert upkeep.providers.get("korsholm-new") is None  # a preview writes nothing

    apply = page.get_by_role("button", name="Apply")
    expect(apply).to_be_enabled()
    ARTIFACTS.mkdir(exist_ok=True)
    open_provider(page, "narpes-sv")  # the picture shows the list, the form and the preview
    page.screenshot(path=str(ARTIFACTS / "providers.png"), full_page=True)

    apply.click()
    expect(page.locator("#upload-status")).to_have_text(
        "Applied: 1 new and 1 changed providers saved."
    )
    assert upkeep.providers.get("korsholm-new").name_sv == "Testpunkt Korsholm"
    assert upkeep.providers.get("narpes-sv").phone == "+358 000 0000 903"
    expect(page.locator("#list-status")).to_have_text("3 providers")
    expect(page.get_by_label("Phone")).to_have_value("+358 000 0000 903")  # the open form too
    expect(page.locator("#preview")).to_be_hidden()


def test_a_file_with_providers_outside_the_regions_or_errors_cannot_be_applied(
    upkeep, page, tmp_path
):
    log_in(page, upkeep)
    preview(page, csv_file(tmp_path, upkeep.row("oulu-library", name_fi="Muutettu")))
    expect(page.locator("#preview-outside-list li")).to_have_text(["oulu-library"])
    alert = page.locator("#upload-error")
    expect(alert).to_have_text(
        "The file cannot be applied: it has providers outside your regions (oulu-library)."
    )
    assert alert.get_attribute("role") == "alert"
    apply = page.get_by_role("button", name="Apply")
    expect(apply).to_be_disabled()
    expect(page.locator("#apply-hint")).to_have_text(
        "Not available: the file has errors or providers outside your regions."
    )

    preview(page, csv_file(tmp_path, upkeep.row("narpes-sv", topics="cooking")))
    expect(page.locator("#preview-error-list li")).to_have_text(
        [re.compile(r"^Line 2, Topics: unknown value 'cooking'")]
    )
    expect(alert).to_contain_text("it has errors")
    expect(apply).to_be_disabled()
    assert upkeep.providers.get("oulu-library").name_fi == "Testikirjasto Oulu"
    assert upkeep.providers.get("narpes-sv").topics == {"smartphone"}


def test_a_worker_is_told_the_page_is_for_coordinators(upkeep, page):
    log_in(page, upkeep, username="wilma")
    message = page.locator("#denied-message")
    expect(message).to_have_text(
        "Only coordinators and administrators can keep the provider list. "
        "You are logged in as Wilma, a support worker account."
    )
    assert message.get_attribute("role") == "alert"
    expect(page.locator("#work-view")).to_be_hidden()
    expect(page.get_by_role("link", name="Go to the support console")).to_be_visible()


def test_a_keyboard_alone_opens_a_provider_and_cancels_a_deactivation(upkeep, page):
    page.goto(f"{upkeep.url}/providers")
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("pohjanmaa")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#page-heading")).to_be_focused()
    expect(page.locator("#list-status")).to_have_text("2 providers")

    tab_to(page, "document.activeElement.hasAttribute('data-provider-id')")
    chosen = page.evaluate("document.activeElement.getAttribute('data-provider-id')")
    page.keyboard.press("Enter")
    expect(page.locator("#editor-heading")).to_be_focused()
    page.locator("#toggle-active").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-question")).to_be_focused()
    page.keyboard.press("Escape")  # not yet: back to the button
    expect(page.locator("#toggle-active")).to_be_focused()
    assert upkeep.providers.get(chosen).active is True

    page.get_by_role("button", name="Back to the list").focus()
    page.keyboard.press("Enter")
    expect(page.locator(f'button[data-provider-id="{chosen}"]')).to_be_focused()
    expect(page.locator("#editor")).to_be_hidden()


def tab_to(page: Any, is_there: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(is_there):
            return
    pytest.fail(f"not reached with Tab: {is_there}")


def test_no_serious_accessibility_violations(upkeep, browser, tmp_path):
    if not widget_browser.AXE.exists():
        widget_browser._missing(
            f"{widget_browser.AXE} not found (make browser-tools installs axe-core with npm)"
        )
    # The page's Content-Security-Policy would block the injected axe script.
    with new_page(browser, locale="en-GB", bypass_csp=True) as page:
        page.goto(f"{upkeep.url}/providers")
        page.get_by_label("Username").wait_for()
        assert serious_violations(page) == []
        log_in(page, upkeep)
        expect(page.locator("#list-status")).to_have_text("2 providers")
        assert serious_violations(page) == []
        open_provider(page, "narpes-sv")
        page.get_by_label("Topics").fill("cooking")
        save(page)
        expect(page.locator("#e-topics")).to_be_visible()
        page.get_by_role("button", name="Deactivate", exact=True).click()
        assert serious_violations(page) == []
        preview(page, csv_file(tmp_path, upkeep.row("oulu-library", topics="cooking")))
        expect(page.locator("#preview-errors")).to_be_visible()
        assert serious_violations(page) == []


def test_the_page_fits_a_phone(upkeep, browser):
    viewport = {"width": 320, "height": 640}
    with new_page(browser, locale="en-GB", viewport=viewport, device_scale_factor=2) as page:
        log_in(page, upkeep)
        expect(page.locator("#list-status")).to_have_text("2 providers")
        open_provider(page, "narpes-sv")
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        hours = page.get_by_label("Opening hours")
        hours.scroll_into_view_if_needed()
        assert hours.bounding_box()["width"] > 200
