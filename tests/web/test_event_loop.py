"""No route waits on the event loop (petdx/web/body.py): a request that waits on the
database or on a password check holds only its own thread, never the other users' requests.

Until this test, the routes that read a posted form were ``async def`` and ran their
transaction on the event loop: while one coordinator's new patient waited on PostgreSQL,
no other request of the process was answered (bench_web: p95 229 ms on PostgreSQL)."""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy import create_engine, text

from petdx.study.config import StudyFolder
from petdx.study.roles import Role
from petdx.web.body import posted_body, posted_form
from petdx.web.security import csrf_protect
from tests.study.cohort import PATIENTS
from tests.web.conftest import ACCOUNTS, PASSWORD, csrf_of
from tests.web.server import LiveServer

#: The only coroutines a request may run on the event loop: they read the body, nothing else.
ASYNC_DEPENDENCIES = frozenset({csrf_protect, posted_form, posted_body})


def _dependencies(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependencies(sub)


def test_every_route_is_a_plain_function_and_only_body_readers_are_async(app: FastAPI) -> None:
    routes = [
        (context.name, context.endpoint, context.dependant)
        for context in iter_route_contexts(app.router.routes)
        if isinstance(context.original_route, APIRoute)
    ]
    assert len(routes) > 40
    on_the_loop = sorted(
        name for name, endpoint, _ in routes if inspect.iscoroutinefunction(endpoint)
    )
    assert on_the_loop == [], f"async routes (run on the event loop): {on_the_loop}"
    async_dependencies = {
        f"{name}: {getattr(call, '__qualname__', call)}"
        for name, _, dependant in routes
        for call in _dependencies(dependant)
        if inspect.iscoroutinefunction(call) and call not in ASYNC_DEPENDENCIES
    }
    assert async_dependencies == set()
    calls = [set(_dependencies(dependant)) for _, _, dependant in routes]
    assert any(posted_form in c for c in calls)
    assert any(csrf_protect in c for c in calls)


def _waiting_on_a_lock(engine: Any) -> int:
    with engine.connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
        )


ON_POSTGRESQL = pytest.param("postgresql", marks=pytest.mark.postgres)


@pytest.mark.parametrize("web_db_url", [ON_POSTGRESQL], indirect=True)
def test_a_save_waiting_on_the_database_does_not_hold_other_requests(
    web_study: StudyFolder, live_server: LiveServer
) -> None:
    """A new patient's transaction is made to wait on a table lock the test holds; while it
    waits, the sign-in page (no database) must still be answered."""
    url = web_study.config.database_url
    assert url is not None
    assert url.startswith("postgresql")
    engine = create_engine(url)
    with httpx.Client(base_url=live_server.url, timeout=60) as client:
        page = client.get("/login")
        form = {"name": ACCOUNTS[Role.COORDINATOR], "password": PASSWORD}
        signed = client.post("/login", data={**form, "csrf_token": csrf_of(page.text)})
        assert signed.status_code == 303, signed.text
        csrf = csrf_of(client.get("/").text)
        patient = {**PATIENTS[0], "csrf_token": csrf}
        answer: dict[str, httpx.Response] = {}
        locker = engine.connect()
        try:
            with locker.begin():
                locker.execute(text("LOCK TABLE patients IN ACCESS EXCLUSIVE MODE"))
                save = threading.Thread(
                    target=lambda: answer.setdefault(
                        "save", client.post("/patients/new", data=patient)
                    )
                )
                save.start()
                deadline = time.monotonic() + 30
                while _waiting_on_a_lock(engine) == 0:
                    assert time.monotonic() < deadline, "the save never reached the database"
                    time.sleep(0.05)
                try:
                    other = httpx.get(live_server.url + "/login", timeout=10)
                except httpx.TimeoutException:
                    pytest.fail("the sign-in page waited for another request's transaction")
                assert other.status_code == 200
                assert "save" not in answer  # still waiting on the lock
        finally:
            locker.close()
        save.join(60)
    engine.dispose()
    assert answer["save"].status_code == 303, answer["save"].text  # stored once the lock went
