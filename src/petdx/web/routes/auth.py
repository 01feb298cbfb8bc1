"""Sign-in and sign-out.

``GET /login`` shows the form (with its double-submit CSRF token); ``POST /login`` signs in
and sends the browser on to the page it asked for (a local path only) or its home page; a
refusal says the same words whatever the reason (unknown name, wrong password, disabled or
locked account). ``POST /logout`` ends the session.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from petdx.study.accounts import authenticate, end_session
from petdx.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, new_login_csrf, set_cookie
from petdx.web.templating import render, web_state

__all__ = ["REFUSAL", "router"]

router = APIRouter()

#: The one answer to a refused sign-in.
REFUSAL = (
    "Name or password not accepted. After several failed attempts an account is locked for a "
    "while; ask the study's administrator if you cannot sign in."
)


def _safe_next(target: str | None) -> str:
    """A local path to go on to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(request: Request, *, error: str | None, name: str, target: str) -> Response:
    token = new_login_csrf()
    response = render(
        request,
        "login.html",
        {"error": error, "name": name, "next": target, "login_csrf": token},
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, path="/login")
    return response


@router.get("/login", name="login_page")
def login_page(request: Request, next: str = "/") -> Response:
    if request.state.session is not None:
        return RedirectResponse(_safe_next(next), 303)
    return _login_page(request, error=None, name="", target=_safe_next(next))


@router.post("/login", name="login")
def login(
    request: Request,
    name: Annotated[str, Form(max_length=256)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    state = web_state(request)
    clock = request.app.state.clock
    result = authenticate(state.database, name, password, state.settings, now=clock())
    if result is None:
        return _login_page(request, error=REFUSAL, name=name, target=_safe_next(next))
    token, _session = result
    response = RedirectResponse(_safe_next(next), 303)
    set_cookie(
        request, response, SESSION_COOKIE, token, max_age=int(state.settings.absolute_lifetime_s)
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, None, path="/login")
    return response


@router.post("/logout", name="logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(web_state(request).database, token)
    response = RedirectResponse("/login", 303)
    set_cookie(request, response, SESSION_COOKIE, None)
    return response
