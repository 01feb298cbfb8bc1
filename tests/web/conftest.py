"""Fixtures of the web application's tests.

* ``web_study``: a study folder with one account per role (:data:`ACCOUNTS`, password
  :data:`PASSWORD`), on SQLite; a test parametrised indirectly over ``web_db_url``
  (``"sqlite"``, ``"postgresql"``) runs on the throwaway PostgreSQL server too.
* ``clock``: the application's clock, moved by the test (session timeouts, lockouts).
* ``app``: ``create_app(web_study)`` on that clock; ``client_as(role)``: a TestClient signed
  in through the sign-in form as that role's account, its CSRF token as ``.csrf``;
  ``anonymous``: a TestClient without a session.
* ``live_server``: ``petdx serve`` in a subprocess on a free port (base URL), stopped at the
  end; ``page``: a Playwright page in Debian's Chromium that fails the test on any console
  error or uncaught page error; ``screenshot(name)`` saves a screenshot under the test's
  ``tmp_path/screenshots``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Page, sync_playwright

from petdx.study import accounts as accounts_module
from petdx.study.accounts import create_account
from petdx.study.config import StudyConfig, StudyFolder
from petdx.study.database import init_study, open_database
from petdx.study.roles import Role
from petdx.web import create_app
from tests.study.postgres import PostgresServer, postgres_server
from tests.web.server import LiveServer, start_server, stop_server

#: The password of every test account (test-only).
PASSWORD = "correct horse battery staple"
#: One account per role: name = the role's value, at site "site-a".
ACCOUNTS = {role: role.value for role in Role}
SITE = "site-a"
CHROMIUM = "/usr/bin/chromium"
_REPO = Path(__file__).resolve().parents[2]


#: Argon2id at test cost (1 pass, 8 MiB): every test signs in many times. The production
#: parameters are tested in test_security.py (which puts them back).
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


@pytest.fixture(autouse=True)
def _fast_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(accounts_module, "_hasher", FAST_HASHER)
    accounts_module._dummy_hash.cache_clear()


@pytest.fixture(scope="session")
def web_pg_server() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


@pytest.fixture
def web_db_url(request: pytest.FixtureRequest) -> str:
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        return "sqlite:///study.sqlite"
    server: PostgresServer = request.getfixturevalue("web_pg_server")
    return server.new_database()


#: ``@BOTH_DATABASES`` on a test: run it on SQLite and on PostgreSQL.
BOTH_DATABASES = pytest.mark.parametrize(
    "web_db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def web_study(tmp_path: Path, web_db_url: str) -> StudyFolder:
    study = init_study(
        tmp_path / "study", StudyConfig(name="Web test study", database_url=web_db_url)
    )
    return add_role_accounts(study)


def add_role_accounts(study: StudyFolder) -> StudyFolder:
    """Give ``study`` one account per role (:data:`ACCOUNTS`, :data:`PASSWORD`, :data:`SITE`)."""
    database = open_database(study)
    try:
        for role, name in ACCOUNTS.items():
            create_account(
                database, name, role=role, site=SITE, password=PASSWORD, actor="test-setup"
            )
    finally:
        database.dispose()
    return study


@dataclass
class Clock:
    """A settable clock (Unix seconds)."""

    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(web_study: StudyFolder, clock: Clock) -> Iterator[FastAPI]:
    application = create_app(web_study.root, clock=clock)
    yield application
    application.state.web.database.dispose()


class WebClient(TestClient):
    """A TestClient that knows its session's CSRF token (``csrf``)."""

    csrf: str = ""


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of a page's first form."""
    found = _CSRF.search(html)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> httpx.Response:
    """Post the sign-in form as a browser does (its double-submit token included)."""
    page = client.get("/login")
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )


@pytest.fixture
def client_as(app: FastAPI) -> Iterator[Callable[[Role], WebClient]]:
    clients: list[WebClient] = []

    def make(role: Role) -> WebClient:
        client = WebClient(app, follow_redirects=False)
        client.__enter__()
        clients.append(client)
        response = sign_in(client, ACCOUNTS[role])
        assert response.status_code == 303, response.text
        client.csrf = csrf_of(client.get("/").text)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[WebClient]:
    with WebClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture
def live_server(web_study: StudyFolder, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(web_study.root, tmp_path / "serve.log")
    yield server
    stop_server(server)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture
def page(screenshots: Path) -> Iterator[Page]:
    """A Playwright page in Debian's Chromium; any console error or page error fails the
    test (checked at teardown, after a last screenshot)."""
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(viewport={"width": 1024, "height": 768})
        tab = context.new_page()
        tab.on(
            "console",
            lambda message: (
                problems.append(f"console {message.type}: {message.text}")
                if message.type == "error"
                else None
            ),
        )
        tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        try:
            yield tab
        finally:
            if not tab.is_closed():
                tab.screenshot(path=str(screenshots / "last.png"), full_page=True)
            context.close()
            browser.close()
    assert not problems, "browser console errors:\n" + "\n".join(problems)


@pytest.fixture
def screenshot(page: Page, screenshots: Path) -> Callable[[str], Path]:
    def take(name: str) -> Path:
        path = screenshots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
