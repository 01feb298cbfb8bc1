"""Rendering pages: one Jinja2 environment (autoescape on), the context every page gets, and
the study objects a route reaches through the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

import jinja2
from fastapi import Request
from starlette.responses import HTMLResponse

from petdx.study.accounts import AccountSettings, Session
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.web.policy import PAGES, POLICY
from petdx.web.security import CSRF_FIELD

__all__ = ["WebState", "environment", "nav_pages", "render", "web_state"]

#: Autoescape is on for every template (markup in any value is shown, never run).
environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(files("petdx.web") / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class WebState:
    """What the application holds for its routes (``app.state.web``)."""

    study: StudyFolder
    database: StudyDatabase
    settings: AccountSettings


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
        "url_for": lambda route, /, **params: str(request.app.url_path_for(route, **params)),
    }
    full.update(context or {})
    html = environment.get_template(template).render(full)
    return HTMLResponse(html, status_code=status_code)
