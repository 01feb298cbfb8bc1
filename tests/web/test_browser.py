"""In Debian's Chromium (Playwright), against ``petdx serve`` in a subprocess: each role signs
in with the keyboard, sees its home page, and signs out; no console errors (the page fixture
fails the test on any, CSP violations included); screenshots under the test's tmp dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from petdx.study.roles import Role
from petdx.web.routes.home import ROLE_TASKS
from tests.web.conftest import ACCOUNTS, BOTH_DATABASES, PASSWORD, LiveServer

pytestmark = pytest.mark.slow


@BOTH_DATABASES
def test_each_role_signs_in_sees_its_home_page_and_signs_out(
    live_server: LiveServer, page: Page, screenshot: Callable[[str], Path]
) -> None:
    for role in Role:
        page.goto(live_server.url + "/")
        expect(page).to_have_url(live_server.url + "/login?next=/")
        # keyboard only: the name field has the focus, Tab to the password, Enter submits
        expect(page.locator("#name")).to_be_focused()
        page.keyboard.type(ACCOUNTS[role])
        page.keyboard.press("Tab")
        expect(page.locator("#password")).to_be_focused()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(live_server.url + "/")
        expect(page.locator("h1")).to_have_text(f"Welcome, {ACCOUNTS[role]}")
        expect(page.locator("main")).to_contain_text(ROLE_TASKS[role])
        if role is Role.ADMIN:
            page.get_by_role("link", name="Accounts: who may sign in").click()
            expect(page.locator("table tbody tr")).to_have_count(len(Role))
        screenshot(f"home-{role.value}")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(live_server.url + "/login")
        # signed out: the home page sends to the sign-in page again
        page.goto(live_server.url + "/")
        expect(page).to_have_url(live_server.url + "/login?next=/")


def test_a_refused_sign_in_shows_one_message(live_server: LiveServer, page: Page) -> None:
    page.goto(live_server.url + "/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill("wrong password 12345")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Name or password not accepted")
    expect(page.get_by_label("Name")).to_have_value("admin")
