"""The acceptance walk-through of issue 13 in Debian's Chromium, against ``petdx serve``.

The issue's browser acceptance is walked by three tests, each step a screenshot under the
test's tmp dir and no console error anywhere (the ``page`` fixture):

- here: the administrator reviews the accounts; every role signs in and reaches its home page;
- tests/web/test_forms_browser.py::test_coordinator_data_manager_and_investigator_in_the_browser:
  the coordinator screens a patient with an ineligible answer and sees the failing criterion,
  corrects it, enters a radiation history over the budget and sees enrolment refused, enrols an
  eligible patient, records pathology and PD-L1; the data manager raises a query, the
  coordinator answers it, the data manager closes it and locks the forms; the investigator signs;
- tests/web/test_statistician.py::test_statistician_in_the_browser: the statistician locks a
  snapshot, runs the analyses, opens the report and downloads the export.

:class:`Walk` (sign in as a role, take a step, sign out) is the helper for further walks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from petdx.study.roles import Role
from tests.web.conftest import ACCOUNTS, PASSWORD, LiveServer

pytestmark = pytest.mark.slow


@dataclass
class Walk:
    """The browser walking through the application: one role at a time."""

    page: Page
    url: str
    screenshot: Callable[[str], Path]
    steps: int = 0

    def go(self, path: str) -> None:
        self.page.goto(self.url + path)

    def sign_in(self, role: Role) -> None:
        self.go("/login")
        self.page.get_by_label("Name").fill(ACCOUNTS[role])
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.locator("h1")).to_have_text(f"Welcome, {ACCOUNTS[role]}")

    def step(self, name: str) -> None:
        """Mark the end of a step: a numbered screenshot."""
        self.steps += 1
        self.screenshot(f"{self.steps:02d}-{name}")

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()
        expect(self.page).to_have_url(self.url + "/login")


def test_issue_13_acceptance_walk_through(
    live_server: LiveServer, page: Page, screenshot: Callable[[str], Path]
) -> None:
    walk = Walk(page, live_server.url, screenshot)

    # the administrator: the study's accounts, one per role, all active
    walk.sign_in(Role.ADMIN)
    page.get_by_role("link", name="Accounts", exact=True).click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(len(Role))
    for role in Role:
        expect(rows.filter(has_text=ACCOUNTS[role])).to_contain_text("active")
    walk.step("admin-accounts")
    walk.sign_out()

    # every other role reaches its home page, and the accounts page is closed to it
    for role in (r for r in Role if r is not Role.ADMIN):
        walk.sign_in(role)
        expect(page.get_by_role("link", name="Accounts", exact=True)).to_have_count(0)
        walk.step(f"home-{role.value}")
        walk.sign_out()

    screenshots = sorted(p.name for p in (Path(walk.screenshot("end")).parent).glob("*.png"))
    assert len(screenshots) >= walk.steps
