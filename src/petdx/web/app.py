"""``create_app(study_root)``: the study's web application (FastAPI).

The application opens the study's database (SQLite or PostgreSQL, as ``study.toml`` says),
puts :class:`~petdx.web.security.AccessMiddleware` in front of every request (policy table,
sessions, security headers) and :func:`~petdx.web.security.csrf_protect` on every route, and
serves the vendored static files under ``/static``. Parts of the application add their
router to :data:`ROUTERS` and their rows to :data:`petdx.web.policy.POLICY`.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path

from anyio import to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from petdx.errors import InputValidationError
from petdx.study.accounts import load_account_settings
from petdx.study.config import open_study
from petdx.study.database import open_database
from petdx.web.routes import (
    admin,
    auth,
    coordinator,
    home,
    quality,
    reader,
    signoff,
    statistician,
    viewer,
    voi,
)
from petdx.web.security import AccessMiddleware, csrf_protect
from petdx.web.templating import RouteIndex, WebState, render

__all__ = ["ROUTERS", "STUDY_ENVIRONMENT", "create_app", "create_app_from_environment"]

#: The environment variable naming the study of :func:`create_app_from_environment`.
STUDY_ENVIRONMENT = "PETDX_SERVE_STUDY"

#: Every router of the application (each part of the application adds its own).
ROUTERS: tuple[APIRouter, ...] = (
    auth.router,
    home.router,
    admin.router,
    coordinator.router,
    quality.router,
    signoff.router,
    statistician.router,
    # petdx.web.routes.reader: the reader workstation (issue 14)
    reader.router,
    # petdx.web.routes.voi: the reader's VOIs (issue 14)
    voi.router,
    # petdx.web.routes.viewer: the reader's case volumes
    viewer.router,
)


def _check_routes(routes: list[BaseRoute]) -> None:
    """Every route that changes state is a FastAPI route (so :func:`csrf_protect` runs)."""
    for route in routes:
        if isinstance(route, Mount):
            continue
        methods = getattr(route, "methods", None) or set()
        if not isinstance(route, APIRoute) and methods - {"GET", "HEAD", "OPTIONS"}:
            raise RuntimeError(f"route {route!r} changes state but is not an APIRoute")


#: Requests a server process serves at once, each on a thread of FastAPI's pool (every
#: route is a plain function, petdx/web/body.py); the others wait their turn. The work is
#: mostly Python under one GIL: with AnyIO's default of 40 threads, 20 busy users on
#: PostgreSQL took turns on the GIL in the middle of their transactions and p95 was about
#: 390 ms against about 210 ms with 4 (bench_web, docs/benchmarks.md). Four still let a
#: request that waits on the database (a lock, a slow query) leave the others served.
REQUEST_THREADS = 4


def create_app(study_root: str | Path, *, clock: Callable[[], float] | None = None) -> FastAPI:
    """The web application of the study at ``study_root``.

    ``clock`` (Unix seconds; default :func:`time.time`) dates sessions and sign-in lockouts;
    tests pass their own.

    Raises
    ------
    InputValidationError
        Not a study folder, its database unreachable or at another schema, or a bad ``[web]``
        setting.
    """
    study = open_study(study_root)
    settings = load_account_settings(study)
    database = open_database(study)
    clock = clock or time.time

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        to_thread.current_default_thread_limiter().total_tokens = REQUEST_THREADS
        yield
        database.dispose()

    app = FastAPI(
        title=f"petdx: {study.config.name}",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
        lifespan=lifespan,
    )
    app.state.web = WebState(
        study=study, database=database, settings=settings, routes=RouteIndex(app.router.routes)
    )
    app.state.clock = clock
    for router in ROUTERS:
        app.include_router(router)
    app.mount(
        "/static",
        StaticFiles(directory=str(files("petdx.web") / "static")),
        name="static",
    )
    _check_routes(app.router.routes)
    app.add_middleware(
        AccessMiddleware,
        routes=lambda: app.router.routes,
        database=database,
        settings=settings,
        clock=clock,
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if "text/html" in request.headers.get("accept", "") and getattr(
            request.state, "session", None
        ):
            return render(
                request,
                "error.html",
                {"status": exc.status_code, "detail": exc.detail},
                status_code=exc.status_code,
            )
        return PlainTextResponse(str(exc.detail), exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        return PlainTextResponse(f"The request was not understood ({fields}).", 422)

    return app


def create_app_from_environment() -> FastAPI:
    """The application of the study named by :data:`STUDY_ENVIRONMENT`: the factory each
    worker process of ``petdx serve --workers N`` calls (uvicorn starts them by import
    string, so the study travels in the environment)."""
    study = os.environ.get(STUDY_ENVIRONMENT)
    if not study:
        raise InputValidationError(
            f"{STUDY_ENVIRONMENT} is not set: start the server with `petdx serve STUDY`."
        )
    return create_app(study)
