"""The peer of ``bench_web``: the same request sequence answered by a bare Starlette app on
the same uvicorn (no session lookup, no policy, no database, no template, no Argon2): the
floor that the server, the loopback network and the load generator set on this machine."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

#: About the size of petdx's home page.
_PAGE = (
    "<!doctype html><html><head><title>peer</title></head><body>" + "x" * 1400 + "</body></html>"
)


async def login_page(_request: Request) -> Response:
    return HTMLResponse(_PAGE)


async def login(_request: Request) -> Response:
    response = RedirectResponse("/", 303)
    response.set_cookie("peer_session", "token", httponly=True, samesite="strict")
    return response


async def home(_request: Request) -> Response:
    return HTMLResponse(_PAGE)


async def patients(_request: Request) -> Response:
    return HTMLResponse(_PAGE)


async def new_patient(_request: Request) -> Response:
    return RedirectResponse("/patients/new-id", 303)


async def logout(_request: Request) -> Response:
    return RedirectResponse("/login", 303)


app = Starlette(
    routes=[
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/", home, methods=["GET"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/patients", patients, methods=["GET"]),
        Route("/patients/new", new_patient, methods=["POST"]),
    ]
)
