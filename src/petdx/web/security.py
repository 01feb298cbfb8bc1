""":class:`AccessMiddleware`, :func:`csrf_protect`, cookies and security headers.

:class:`AccessMiddleware` sees every HTTP request before the application does. It finds the
route the request matches, opens the session of the cookie
(:func:`petdx.study.accounts.open_session`) and asks the policy table
(:func:`petdx.web.policy.decide`): allowed requests go on with the session in
``request.state.session``; without a session a browser is sent to the sign-in page (others
get 401); a refused route gets 403. Every response, refusals included, carries the security
headers of :data:`SECURITY_HEADERS`.

:func:`csrf_protect`, a dependency of every route, refuses (403) a state-changing request
(any method but GET, HEAD, OPTIONS) without the session's CSRF token, given as the form field
``csrf_token`` or the ``X-CSRF-Token`` header (htmx sends it: ``hx-headers`` on the page's
body). The sign-in form, before any session, uses a double-submit token: a random value in a
cookie of its own and in the form.

Cookies are HttpOnly and SameSite=Strict, and Secure when the application is served over
https (:func:`set_cookie`).

References
----------
OWASP Cross-Site Request Forgery Prevention Cheat Sheet (synchronizer token, double-submit
cookie for the sign-in form). OWASP HTTP Headers Cheat Sheet. W3C Content Security Policy
Level 3 (``frame-ancestors``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request
from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from petdx.study.accounts import AccountSettings, Session, open_session
from petdx.study.database import StudyDatabase
from petdx.web.policy import Decision, decide

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_CSRF_COOKIE",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "AccessMiddleware",
    "csrf_protect",
    "current_session",
    "is_https",
    "route_name",
    "set_cookie",
]

SESSION_COOKIE = "petdx_session"
LOGIN_CSRF_COOKIE = "petdx_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Sent with every response. No inline script or style is allowed (htmx is configured not to
#: inject its indicator style, and not to evaluate attribute code).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
)


def is_https(scope: Scope) -> bool:
    return scope.get("scheme") in ("https", "wss")


def route_name(routes: list[BaseRoute], scope: Scope) -> str | None:
    """The name of the route ``scope`` matches (a full match first, else a route with this
    path but another method), or None. Routes of included routers are matched as FastAPI
    matches them (their effective path, prefix included)."""
    partial: str | None = None
    for context in iter_route_contexts(routes):
        match, _child = context.route.matches(scope)
        if match is Match.FULL:
            return context.name
        if match is Match.PARTIAL and partial is None:
            partial = context.name
    return partial


def _wants_html(scope: Scope) -> bool:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if "hx-request" in headers:
        return False
    return scope.get("method") == "GET" and "text/html" in headers.get("accept", "")


class AccessMiddleware:
    """Decide every request by the policy table and add the security headers (module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Callable[[], list[BaseRoute]],
        database: StudyDatabase,
        settings: AccountSettings,
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.routes = routes
        self.database = database
        self.settings = settings
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key.encode() not in present:
                        headers.append((key.encode(), value.encode()))
                if b"cache-control" not in present and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        name = route_name(self.routes(), scope)
        request = Request(scope)
        token = request.cookies.get(SESSION_COOKIE)
        session: Session | None = None
        if token and name != "static":
            session = await run_in_threadpool(
                open_session, self.database, token, self.settings, now=self.clock()
            )
        scope.setdefault("state", {})["session"] = session
        decision = decide(name, session.account.role if session is not None else None)
        if decision is Decision.ALLOW:
            await self.app(scope, receive, send_with_headers)
            return
        response: Response
        if decision is Decision.SIGN_IN:
            if _wants_html(scope):
                target = scope["path"] + (
                    "?" + scope["query_string"].decode() if scope.get("query_string") else ""
                )
                response = RedirectResponse("/login?next=" + quote(target, safe="/"), 303)
            else:
                response = PlainTextResponse("Sign in first.", 401)
            if token:  # a cookie of an ended session
                set_cookie(request, response, SESSION_COOKIE, None)
        else:
            response = PlainTextResponse(
                "Your role may not use this page. Go back to your home page.", 403
            )
        await response(scope, receive, send_with_headers)


def set_cookie(
    request: Request,
    response: Response,
    key: str,
    value: str | None,
    *,
    path: str = "/",
    max_age: int | None = None,
) -> None:
    """Set (or, with ``value`` None, remove) a cookie: HttpOnly, SameSite=Strict, and Secure
    when the request came over https."""
    if value is None:
        response.delete_cookie(
            key, path=path, secure=is_https(request.scope), httponly=True, samesite="strict"
        )
        return
    response.set_cookie(
        key,
        value,
        max_age=max_age,
        path=path,
        secure=is_https(request.scope),
        httponly=True,
        samesite="strict",
    )


def current_session(request: Request) -> Session:
    """The request's session (the middleware let it through, so there is one)."""
    session: Session | None = request.state.session
    if session is None:  # only public routes run without one; they do not call this
        raise HTTPException(401, "Sign in first.")
    return session


def new_login_csrf() -> str:
    return secrets.token_urlsafe(32)


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request without the right CSRF token (module doc)."""
    if request.method in _SAFE_METHODS:
        return
    supplied: Any = request.headers.get(CSRF_HEADER)
    if supplied is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            supplied = (await request.form()).get(CSRF_FIELD)
    route = request.scope.get("route")
    session: Session | None = getattr(request.state, "session", None)
    if getattr(route, "name", None) == "login":
        expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    else:
        expected = session.csrf_token if session is not None else None
    if (
        not isinstance(supplied, str)
        or not expected
        or not secrets.compare_digest(supplied.encode(), expected.encode())
    ):
        raise HTTPException(
            403,
            "The form's security token is missing or out of date: reload the page and try again.",
        )
