"""The policy table decides every request: every route of the application, with every role
and with no session, answers what :func:`petdx.web.policy.decide` says; only the sign-in page
and the static files answer without a session; a route without a row is refused."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.responses import PlainTextResponse

from petdx.study.roles import Role
from petdx.web.policy import POLICY, PUBLIC, Decision, decide
from petdx.web.security import LOGIN_CSRF_COOKIE
from tests.web.conftest import BOTH_DATABASES, WebClient

_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def routes_of(app: FastAPI) -> list[tuple[str, str, str]]:
    """(name, method, a concrete path) of every route the application serves."""
    out = []
    for context in iter_route_contexts(app.router.routes):
        if context.name == "static":
            out.append(("static", "GET", "/static/petdx.css"))
            continue
        path = _PARAM.sub("probe", context.path)
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                out.append((context.name, method, path))
    return out


def _call(
    client: WebClient, name: str, method: str, path: str, *, csrf: str | None
) -> tuple[int, str, str]:
    """One request with the CSRF token the route needs (the session's, or for the sign-in
    form a double-submit pair), so that a 403 is the policy's."""
    headers = {"accept": "text/html"}
    if name == "login":
        client.cookies.set(LOGIN_CSRF_COOKIE, "probe-token", path="/login")
        csrf = "probe-token"
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    response = client.request(method, path, headers=headers)
    return response.status_code, response.headers.get("location", ""), response.text


def _check(decision: Decision, answer: tuple[int, str, str], where: str) -> None:
    status, location, text = answer
    if decision is Decision.REFUSE:
        assert status == 403, where
        assert "Your role may not use this page" in text, where
    elif decision is Decision.SIGN_IN:
        assert status == 401 or (status == 303 and location.startswith("/login")), where
    else:
        assert status not in (401, 403), where
        assert not location.startswith("/login?"), where


@BOTH_DATABASES
def test_every_route_with_every_role_answers_as_the_policy_says(
    app: FastAPI, client_as: Callable[[Role], WebClient], anonymous: WebClient
) -> None:
    routes = routes_of(app)
    assert {name for name, _, _ in routes} >= set(POLICY) | {"login_page", "login", "static"}
    for name, method, path in routes:
        answer = _call(anonymous, name, method, path, csrf=None)
        _check(decide(name, None), answer, f"{method} {path} without a session")
        for role in Role:
            client = client_as(role)  # a new session each time: a route may end it (logout)
            answer = _call(client, name, method, path, csrf=client.csrf)
            _check(decide(name, role), answer, f"{method} {path} as {role}")


def test_only_sign_in_and_static_answer_without_a_session(
    app: FastAPI, anonymous: WebClient
) -> None:
    answered = []
    for name, method, path in routes_of(app):
        status, location, _ = _call(anonymous, name, method, path, csrf=None)
        if not (status == 401 or (status == 303 and location.startswith("/login?next="))):
            answered.append(name)
    assert sorted(answered) == ["login", "login_page", "static"]
    # the sign-in POST without its form token is refused
    anonymous.cookies.clear()
    assert anonymous.post("/login", data={"name": "admin", "password": "x"}).status_code == 403
    # a path that is no route at all: to the sign-in page, not a 404 that tells it apart
    status, location, _ = _call(anonymous, "", "GET", "/no/such/page", csrf=None)
    assert (status, location) == (303, "/login?next=/no/such/page")
    assert {"login_page", "login", "static"} == PUBLIC


def test_a_route_without_a_row_in_the_table_is_refused_to_every_role(
    app: FastAPI, client_as: Callable[[Role], WebClient]
) -> None:
    @app.get("/unlisted", name="unlisted_probe")
    def unlisted() -> PlainTextResponse:
        return PlainTextResponse("should never be seen")

    assert "unlisted_probe" not in POLICY
    for role in Role:
        response = client_as(role).get("/unlisted")
        assert response.status_code == 403, role
        assert "should never be seen" not in response.text


def test_every_row_of_the_table_names_a_route(app: FastAPI) -> None:
    names = {name for name, _, _ in routes_of(app)}
    assert set(POLICY) - names == set()


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.ADMIN])
def test_only_the_admin_sees_the_accounts(
    role: Role, client_as: Callable[[Role], WebClient]
) -> None:
    assert client_as(role).get("/admin/accounts").status_code == 403
    assert client_as(Role.ADMIN).get("/admin/accounts").status_code == 200
