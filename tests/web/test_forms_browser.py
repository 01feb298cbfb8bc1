"""The live eligibility panel in a real browser (Debian's Chromium): as the coordinator
changes an answer on the screening form, htmx posts the unsaved values and the failing
criterion appears, without saving; no console errors (the ``page`` fixture)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.forms import save_form
from petdx.study.records import Author, get_record
from petdx.study.roles import Role
from tests.study.cohort import PATIENTS, SCREENING
from tests.web.conftest import ACCOUNTS, PASSWORD, LiveServer


def test_the_live_panel_follows_the_unsaved_answers(
    web_study: StudyFolder,
    live_server: LiveServer,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    database = open_database(web_study)
    setup = Author("setup")
    try:
        with database.begin_write() as c:
            save_form(c, "patients", PATIENTS[0], author=setup, create=True, site="site-a")
            save_form(c, "screening", SCREENING[0], author=setup, create=True)
    finally:
        database.dispose()
    page.goto(live_server.url + "/login")
    page.fill("#name", ACCOUNTS[Role.COORDINATOR])
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url(live_server.url + "/")
    page.goto(live_server.url + "/patients/SIM-0001/forms/screening")
    consent = page.locator('#eligibility [data-criterion="written_consent"]')
    expect(consent).to_contain_text("pass")
    page.select_option("#f-consent_signed", "no")
    expect(consent).to_contain_text("fail")
    expect(page.locator("#eligibility")).to_contain_text("not eligible")
    screenshot("live-eligibility-consent-no")
    page.select_option("#f-consent_signed", "yes")
    expect(consent).to_contain_text("pass")
    database = open_database(web_study)
    try:
        with database.engine.connect() as c:
            stored = get_record(c, "screening", {"patient_id": "SIM-0001"})
    finally:
        database.dispose()
    assert stored is not None
    assert stored["consent_signed"] == "yes"  # the live panel stored nothing
