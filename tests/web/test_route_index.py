"""The page links built by :class:`petdx.web.templating.RouteIndex` are those Starlette's own
``url_path_for`` builds, for every route of the application."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import NoMatchFound

from petdx.web.templating import RouteIndex

_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _params(path: str | None) -> dict[str, str]:
    return {name: f"v-{k}" for k, name in enumerate(_PARAM.findall(path or ""))}


def test_every_route_gets_the_path_starlette_gives(app: FastAPI) -> None:
    index = RouteIndex(app.router.routes)
    names = 0
    for context in iter_route_contexts(app.router.routes):
        if context.name is None:
            continue
        params = _params(context.path)
        if context.name == "static":
            params = {"path": "favicon.svg"}
        assert index.url_path_for(context.name, **params) == app.url_path_for(
            context.name, **params
        )
        names += 1
    assert names > 30  # every page of the application, not a few


def test_unknown_names_and_missing_params_are_refused(app: FastAPI) -> None:
    index = RouteIndex(app.router.routes)
    with pytest.raises(NoMatchFound):
        index.url_path_for("no_such_route")
    with pytest.raises(NoMatchFound):
        index.url_path_for("patient_overview")  # its patient_id is missing


def test_first_use_from_many_threads_at_once(app: FastAPI) -> None:
    index = RouteIndex(app.router.routes)
    expected = str(app.url_path_for("static", path="favicon.svg"))
    with ThreadPoolExecutor(8) as pool:
        got = list(
            pool.map(lambda _: str(index.url_path_for("static", path="favicon.svg")), range(64))
        )
    assert got == [expected] * 64
