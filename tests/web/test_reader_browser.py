"""The reader workstation in Debian's Chromium (Playwright) against ``petdx serve`` on a copy
of the small simulated demo study: reader A signs in; A's worklist order differs from reader
B's and is the same after signing in again; A opens a case, confirms a candidate, scores it,
rejects the others, gives the patient-level call and submits; the worklist shows the case
read. No console errors (the page fixture fails the test on any, CSP violations included).
The viewer and VOI pages add their own steps in their own tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from petdx.study.config import ReadingConfig, StudyFolder, open_study
from petdx.study.database import open_database
from petdx.study.reading_reads import read_versions
from tests.demo_study import DemoStudy, copy_study
from tests.web.conftest import PASSWORD, LiveServer, add_role_accounts
from tests.web.reader_helpers import with_readers

pytestmark = [pytest.mark.xdist_group("demo"), pytest.mark.slow]


@pytest.fixture
def web_study(demo_study: DemoStudy, tmp_path: Path) -> StudyFolder:
    study = open_study(copy_study(demo_study.template, tmp_path / "study"))
    return with_readers(add_role_accounts(study), ReadingConfig(readers=("reader-a", "reader-b")))


def _sign_in(page: Page, url: str, name: str) -> None:
    page.goto(url + "/read")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url + "/read")


def _order(page: Page) -> list[str]:
    rows = page.locator("#worklist tbody tr")
    expect(rows.first).to_be_visible()
    return [rows.nth(i).get_attribute("data-case") or "" for i in range(rows.count())]


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_reader_a_reads_a_case_in_the_browser(
    live_server: LiveServer,
    web_study: StudyFolder,
    page: Page,
    screenshot: Callable[[str], Path],
) -> None:
    url = live_server.url
    _sign_in(page, url, "reader-a")
    order_a = _order(page)
    screenshot("worklist-a")
    _sign_out(page)
    _sign_in(page, url, "reader-b")
    assert _order(page) != order_a
    _sign_out(page)
    _sign_in(page, url, "reader-a")
    assert _order(page) == order_a  # signed in again: the same order

    page.get_by_role("link", name=order_a[0]).click()
    expect(page.locator("h1")).to_have_text(f"Case {order_a[0]}")
    candidates = page.locator("fieldset.candidate")
    # the page parses on once the viewer's stylesheet and volumes are served (first time:
    # converted from DICOM, slow on a loaded machine)
    expect(candidates.first).to_be_visible(timeout=120_000)
    first = candidates.first
    first.get_by_label("confirm").check()
    first.get_by_label("Score").select_option("4")
    for i in range(1, candidates.count()):
        candidates.nth(i).get_by_label("reject").check()
    page.get_by_label("Patient-level score").select_option("4")
    page.get_by_label("Patient-level call").select_option("positive")
    screenshot("case-a")
    page.get_by_role("button", name="Submit read").click()
    expect(page.get_by_role("status")).to_contain_text(f"Read of case {order_a[0]} submitted")
    expect(page.locator(f'tr[data-case="{order_a[0]}"]')).to_contain_text("read (v1)")
    screenshot("worklist-after")

    database = open_database(web_study)
    try:
        with database.engine.connect() as c:
            (version,) = read_versions(c, "reader-a", order_a[0])
    finally:
        database.dispose()
    assert version.lesions[0].confirmed
    assert version.lesions[0].score == 4
    assert all(not r.confirmed for r in version.lesions[1:])
    assert version.seconds is not None
    assert version.seconds > 0
