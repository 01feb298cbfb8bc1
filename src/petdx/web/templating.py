"""Rendering pages: one Jinja2 environment (autoescape on), the context every page gets, and
the study objects a route reaches through the request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import jinja2
from fastapi import Request
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.datastructures import URLPath
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, NoMatchFound

from petdx.study.accounts import AccountSettings, Session
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.web.policy import PAGES, POLICY
from petdx.web.security import CSRF_FIELD

__all__ = ["RouteIndex", "WebState", "environment", "nav_pages", "render", "web_state"]

#: Autoescape is on for every template (markup in any value is shown, never run).
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(files("petdx.web") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    # the templates are package files: checking their modification time on every page only
    # costs time (a changed template needs a restart of the server)
    auto_reload=False,
)


@dataclass
class RouteIndex:
    """The application's routes by name, to build a page's links without searching them all.

    Starlette's ``url_path_for`` tries every route of the application in turn and raises an
    exception for each one that does not match: a page listing 50 patients with a few links
    each paid that search hundreds of times (a fifth of the server's time under the load of
    ``bench_web``). The index is filled from the application's routes on first use (they do
    not change once the application is built) and asks only the routes of that name.
    """

    routes: Sequence[BaseRoute]
    _by_name: dict[str, list[RouteContext]] | None = field(default=None, init=False)

    def url_path_for(self, name: str, /, **params: Any) -> URLPath:
        """The path of route ``name`` with ``params`` (NoMatchFound when there is none)."""
        by_name = self._by_name
        if by_name is None:  # built whole, then published: threads never see it half-built
            by_name = {}
            for context in iter_route_contexts(self.routes):
                if context.name is not None:
                    by_name.setdefault(context.name, []).append(context)
            self._by_name = by_name
        for context in by_name.get(name, ()):
            try:
                path: URLPath = context.url_path_for(name, **params)
            except NoMatchFound:
                continue
            return path
        raise NoMatchFound(name, params)


@dataclass(frozen=True)
class WebState:
    """What the application holds for its routes (``app.state.web``)."""

    study: StudyFolder
    database: StudyDatabase
    settings: AccountSettings
    routes: RouteIndex


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def nav_pages(session: Session | None) -> list[tuple[str, str]]:
    """(route name, label) of the pages of :data:`PAGES` the session's role may open."""
    if session is None:
        return []
    role = session.account.role
    return [(name, label) for name, label in PAGES.items() if role in POLICY.get(name, ())]


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The page ``template`` with the common context: the session, its CSRF token, the
    pages of the role, the study's name, ``url_for``."""
    session: Session | None = getattr(request.state, "session", None)
    full: dict[str, Any] = {
        "request": request,
        "session": session,
        "csrf_field": CSRF_FIELD,
        "csrf_token": session.csrf_token if session is not None else "",
        "nav": nav_pages(session),
        "study_name": web_state(request).study.config.name,
        "url_for": lambda route, /, **params: str(
            web_state(request).routes.url_path_for(route, **params)
        ),
    }
    full.update(context or {})
    html = environment.get_template(template).render(full)
    return HTMLResponse(html, status_code=status_code)
