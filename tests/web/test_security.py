"""Security of the web application: CSRF, escaping, Argon2 hashes, sign-in throttling,
session timeouts, cookies and security headers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from markupsafe import escape
from sqlalchemy import select

from petdx.study import accounts as accounts_module
from petdx.study.accounts import AccountSettings, create_account
from petdx.study.audit import audit_history
from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.roles import Role
from petdx.study.schema import accounts, web_sessions
from petdx.web.routes.auth import REFUSAL
from petdx.web.security import SECURITY_HEADERS, SESSION_COOKIE
from tests.web.conftest import (
    BOTH_DATABASES,
    PASSWORD,
    Clock,
    WebClient,
    csrf_of,
    sign_in,
)

#: The refusal as the page shows it (HTML-escaped).
SHOWN_REFUSAL = str(escape(REFUSAL))


def _signed_in(client: WebClient) -> bool:
    return client.get("/").status_code == 200


# --- CSRF -----------------------------------------------------------------------------------


def test_a_post_without_the_csrf_token_is_refused(client_as: Callable[[Role], WebClient]) -> None:
    client = client_as(Role.ADMIN)
    assert client.post("/logout").status_code == 403
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/logout", headers={"x-csrf-token": ""}).status_code == 403
    assert _signed_in(client)  # nothing happened
    # an admin action without the token changes nothing either
    response = client.post("/admin/accounts/disable", data={"name": "reader"})
    assert response.status_code == 403
    assert "reader" in client.get("/admin/accounts").text
    assert "disabled" not in client.get("/admin/accounts").text


def test_a_post_with_the_token_as_form_field_or_htmx_header_is_accepted(
    client_as: Callable[[Role], WebClient],
) -> None:
    client = client_as(Role.ADMIN)
    response = client.post(
        "/admin/accounts/disable", data={"name": "reader", "csrf_token": client.csrf}
    )
    assert response.status_code == 303
    other = client_as(Role.COORDINATOR)
    assert other.post("/logout", headers={"x-csrf-token": other.csrf}).status_code == 303
    assert not _signed_in(other)


def test_another_sessions_token_is_refused(client_as: Callable[[Role], WebClient]) -> None:
    first, second = client_as(Role.ADMIN), client_as(Role.READER)
    assert first.csrf != second.csrf
    assert second.post("/logout", data={"csrf_token": first.csrf}).status_code == 403
    assert _signed_in(second)


def test_the_sign_in_form_needs_its_own_token(anonymous: WebClient) -> None:
    page = anonymous.get("/login")
    token = csrf_of(page.text)
    data = {"name": "admin", "password": PASSWORD}
    assert anonymous.post("/login", data=data).status_code == 403
    assert anonymous.post("/login", data={**data, "csrf_token": token + "x"}).status_code == 403
    anonymous.cookies.clear()  # the form's token without its cookie
    assert anonymous.post("/login", data={**data, "csrf_token": token}).status_code == 403


# --- escaping -------------------------------------------------------------------------------

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_markup_in_an_account_name_and_site_comes_back_escaped(
    web_study: StudyFolder, app: FastAPI, anonymous: WebClient
) -> None:
    name = '<script>alert("x")</script>'
    database = open_database(web_study)
    try:
        create_account(
            database, name, role=Role.ADMIN, site=MARKUP[:60], password=PASSWORD, actor="t"
        )
    finally:
        database.dispose()
    assert sign_in(anonymous, name).status_code == 303
    for path in ("/", "/admin/accounts"):
        html = anonymous.get(path).text
        assert "<script>alert" not in html, path
        assert "<img src=x" not in html, path
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, path
    # a refused sign-in shows the typed name back, escaped
    anonymous.post("/logout", data={"csrf_token": csrf_of(anonymous.get("/").text)})
    refused = sign_in(anonymous, MARKUP[:60], "wrong password 1234")
    assert refused.status_code == 200
    assert "<img src=x" not in refused.text
    assert "&lt;img src=x" in refused.text


# --- passwords ------------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2id_with_the_rfc_9106_parameters(
    web_study: StudyFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = PasswordHasher()  # argon2-cffi's default: RFC 9106 second recommendation
    monkeypatch.setattr(accounts_module, "_hasher", real)
    database = open_database(web_study)
    try:
        create_account(
            database, "newcomer", role=Role.READER, site="s", password=PASSWORD, actor="t"
        )
        with database.engine.connect() as connection:
            stored = connection.execute(
                select(accounts.c.password_hash).where(accounts.c.name == "newcomer")
            ).scalar_one()
            trail = audit_history(connection, table_name="accounts")
    finally:
        database.dispose()
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert real.verify(stored, PASSWORD)
    assert PASSWORD not in stored
    created = [e for e in trail if e.record_key == "newcomer"]
    assert len(created) == 1
    assert created[0].new_values is not None
    assert "password_hash" not in created[0].new_values
    assert not any("argon2" in str(e.new_values) for e in trail)


# --- throttling -----------------------------------------------------------------------------


def _thread_niceness(thread_id: int) -> int:
    # /proc/<pid>/task/<tid>/stat, field 19 (proc(5)); the name field may hold spaces
    stat = Path(f"/proc/self/task/{thread_id}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[16])


def test_password_checks_run_one_at_a_time_at_low_cpu_priority(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A burst of sign-ins must not take the cores from the pages (issue 13's load): every
    Argon2 verification runs in one thread per process, niced below the caller's threads."""
    real = PasswordHasher()
    stored = real.hash(PASSWORD)
    seen: list[tuple[int, int]] = []
    running = [0]
    overlap = [0]
    guard = threading.Lock()

    class Watched:
        def verify(self, hash_: str, password: str) -> bool:
            return watched(hash_, password)

    def watched(hash_: str, password: str) -> bool:
        with guard:
            running[0] += 1
            overlap[0] = max(overlap[0], running[0])
            seen.append((threading.get_native_id(), _thread_niceness(threading.get_native_id())))
        try:
            return real.verify(hash_, password)
        finally:
            with guard:
                running[0] -= 1

    monkeypatch.setattr(accounts_module, "_hasher", Watched())
    with ThreadPoolExecutor(max_workers=4) as callers:
        answers = list(
            callers.map(
                lambda p: accounts_module._verify(stored, p),
                [PASSWORD] * 3 + ["wrong password 1234"],
            )
        )
    assert answers == [True, True, True, False]
    assert overlap[0] == 1  # never two at once
    assert len({tid for tid, _ in seen}) == 1  # one verifying thread
    mine = _thread_niceness(threading.get_native_id())
    assert {nice for _, nice in seen} == {min(mine + accounts_module.VERIFY_NICENESS, 19)}


def test_repeated_failed_sign_ins_lock_the_account_for_a_while(
    anonymous: WebClient, clock: Clock
) -> None:
    settings = AccountSettings()
    for _ in range(settings.max_failures):
        response = sign_in(anonymous, "coordinator", "not the password!!")
        assert response.status_code == 200
        assert SHOWN_REFUSAL in response.text
    # locked: even the right password is refused, with the same words
    locked = sign_in(anonymous, "coordinator")
    assert locked.status_code == 200
    assert SHOWN_REFUSAL in locked.text
    # an unknown name gets the very same answer (no hint that an account exists)
    unknown = sign_in(anonymous, "nobody-here", "not the password!!")
    assert SHOWN_REFUSAL in unknown.text
    clock.advance(settings.lockout_s - 5)
    assert sign_in(anonymous, "coordinator").status_code == 200  # still locked
    clock.advance(10)
    assert sign_in(anonymous, "coordinator").status_code == 303


def test_a_lock_doubles_with_each_failure_after_it(anonymous: WebClient, clock: Clock) -> None:
    settings = AccountSettings()
    for _ in range(settings.max_failures):
        sign_in(anonymous, "reader", "not the password!!")
    clock.advance(settings.lockout_s + 1)
    sign_in(anonymous, "reader", "not the password!!")  # failure 6: locked twice as long
    clock.advance(settings.lockout_s + 1)
    assert sign_in(anonymous, "reader").status_code == 200
    clock.advance(settings.lockout_s)
    assert sign_in(anonymous, "reader").status_code == 303


def test_a_success_resets_the_count(anonymous: WebClient) -> None:
    for _ in range(AccountSettings().max_failures - 1):
        sign_in(anonymous, "reader", "not the password!!")
    assert sign_in(anonymous, "reader").status_code == 303
    anonymous.post("/logout", data={"csrf_token": csrf_of(anonymous.get("/").text)})
    sign_in(anonymous, "reader", "not the password!!")
    assert sign_in(anonymous, "reader").status_code == 303


# --- sessions -------------------------------------------------------------------------------


def test_an_idle_session_times_out(client_as: Callable[[Role], WebClient], clock: Clock) -> None:
    settings = AccountSettings()
    client = client_as(Role.STATISTICIAN)
    clock.advance(settings.idle_timeout_s - 30)
    assert _signed_in(client)  # a request refreshes the idle clock
    clock.advance(settings.idle_timeout_s - 30)
    assert _signed_in(client)
    clock.advance(settings.idle_timeout_s + 1)
    response = client.get("/", headers={"accept": "text/html"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    assert client.get("/", headers={"accept": "text/html"}).status_code == 303


def test_a_session_ends_after_its_absolute_lifetime(
    client_as: Callable[[Role], WebClient], clock: Clock
) -> None:
    settings = AccountSettings()
    client = client_as(Role.READER)
    elapsed = 0.0
    while elapsed + 600 < settings.absolute_lifetime_s:
        clock.advance(600)
        elapsed += 600
        assert _signed_in(client)
    clock.advance(settings.absolute_lifetime_s - elapsed + 1)
    assert client.get("/").status_code == 401


def test_disabling_an_account_ends_its_sessions(
    client_as: Callable[[Role], WebClient],
) -> None:
    reader = client_as(Role.READER)
    admin = client_as(Role.ADMIN)
    admin.post("/admin/accounts/disable", data={"name": "reader", "csrf_token": admin.csrf})
    assert reader.get("/").status_code == 401


@BOTH_DATABASES
def test_the_database_holds_only_the_hash_of_the_session_token(
    web_study: StudyFolder, client_as: Callable[[Role], WebClient]
) -> None:
    client = client_as(Role.ADMIN)
    token = client.cookies.get(SESSION_COOKIE)
    assert token is not None
    assert len(token) >= 43
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            rows = connection.execute(select(web_sessions)).mappings().all()
            trail = audit_history(connection, table_name="web_sessions")
    finally:
        database.dispose()
    assert len(rows) == 1
    assert token not in str(dict(rows[0]))
    assert [e.reason for e in trail] == ["signed in"]
    assert token not in str(trail)


def test_settings_from_study_toml_apply(web_study: StudyFolder, clock: Clock) -> None:
    from petdx.web import create_app

    path = web_study.root / "study.toml"
    path.write_text(path.read_text() + "\n[web]\nidle_timeout_min = 1\nmax_failed_logins = 2\n")
    application = create_app(web_study.root, clock=clock)
    try:
        with WebClient(application, follow_redirects=False) as client:
            assert sign_in(client, "admin").status_code == 303
            clock.advance(61)
            assert client.get("/").status_code == 401
            for _ in range(2):
                sign_in(client, "reader", "not the password!!")
            assert sign_in(client, "reader").status_code == 200  # locked after 2
    finally:
        application.state.web.database.dispose()


# --- cookies and headers --------------------------------------------------------------------


def _cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def test_the_session_cookie_is_httponly_and_samesite_strict(
    app: FastAPI, anonymous: WebClient
) -> None:
    response = sign_in(anonymous, "admin")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert {"httponly", "samesite", "path"} <= _cookie_attributes(cookie)
    assert "samesite=strict" in cookie.lower().replace(" ", "")
    assert "secure" not in _cookie_attributes(cookie)  # plain http (localhost)
    with WebClient(app, base_url="https://testserver", follow_redirects=False) as secure:
        response = sign_in(secure, "admin")
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
        )
        assert "secure" in _cookie_attributes(cookie)


def test_every_response_carries_the_security_headers(
    client_as: Callable[[Role], WebClient], anonymous: WebClient
) -> None:
    reader = client_as(Role.READER)
    responses = {
        "sign-in page": anonymous.get("/login"),
        "redirect to sign-in": anonymous.get("/", headers={"accept": "text/html"}),
        "401": anonymous.get("/"),
        "static file": anonymous.get("/static/petdx.css"),
        "home": reader.get("/"),
        "403": reader.get("/admin/accounts"),
        "csrf 403": reader.post("/logout"),
        "404": reader.get("/no/such/page"),
    }
    for what, response in responses.items():
        for key, value in SECURITY_HEADERS:
            assert response.headers.get(key) == value, (what, key)
    csp = responses["home"].headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert responses["home"].headers["cache-control"] == "no-store"
    assert responses["home"].headers["x-content-type-options"] == "nosniff"


def test_pages_hold_no_inline_script_or_style(client_as: Callable[[Role], WebClient]) -> None:
    html = client_as(Role.ADMIN).get("/admin/accounts").text
    assert "<script>" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert " on" not in html.replace(" onerror", "")  # no onclick= etc.


def test_sign_in_goes_on_to_local_pages_only(anonymous: WebClient) -> None:
    page = anonymous.get("/login?next=//evil.example/x")
    token = csrf_of(page.text)
    response = anonymous.post(
        "/login",
        data={"name": "admin", "password": PASSWORD, "csrf_token": token, "next": "//evil.example"},
    )
    assert response.headers["location"] == "/"


@BOTH_DATABASES
def test_audit_verify_passes_with_accounts_and_sessions(
    web_study: StudyFolder, client_as: Callable[[Role], WebClient]
) -> None:
    from petdx.study.integrity import verify_study

    admin = client_as(Role.ADMIN)
    client_as(Role.READER).post("/logout", headers={"x-csrf-token": "wrong"})
    admin.post("/admin/accounts/disable", data={"name": "reader", "csrf_token": admin.csrf})
    admin.post("/logout", data={"csrf_token": admin.csrf})
    result = verify_study(web_study)
    assert result.ok, str(result)
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            trail = audit_history(connection)
    finally:
        database.dispose()
    reasons = [e.reason for e in trail if e.table_name in ("accounts", "web_sessions")]
    assert reasons == [
        *["account created"] * len(Role),
        "signed in",
        "signed in",
        "account disabled",
        "signed out",
    ]
