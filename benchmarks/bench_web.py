"""Load on the web application: ``PETDX_BENCH_WEB_USERS`` (20) simulated users for
``PETDX_BENCH_WEB_SECONDS`` (60 s) each, on localhost, against ``petdx serve`` on SQLite and
on PostgreSQL (a throwaway server), and against the peer.

Each user is a coordinator. It signs in through the form (the sign-in page, then the POST:
an Argon2id verification, a session row and its audit row), then loops until the time is
up: its home page and its patient list; every 5th turn it enters a new patient through the
coordinator's form (``POST /patients/new``: the form's validation, the patient, its site and
their audit rows in one transaction); every 50th turn it signs out (a delete and an audit
row) and in again. The loop is bounded by the clock and stops by itself. Writes: every
patient, sign-in and sign-out the clients saw succeed must be in the tables and the audit
trail, and the sessions table must hold exactly the sessions left open (0 lost writes).

Peer: the same request sequence answered by a bare Starlette app on the same uvicorn
(``benchmarks/_web_peer.py``: no database, session, policy, template or Argon2), measured in
the same run by the same load generator. Its latency is the floor the server, the loopback
and the client (one asyncio process on the same 2 cores) set here; the ratio p95 peer /
petdx (< 1: petdx slower) is the price of everything petdx does per request. The goal of
issue 13: p95 under 200 ms, 0 errors, 0 lost writes.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import func, select
from tests.study.cohort import PATIENTS
from tests.study.postgres import postgres_server
from tests.web.server import LiveServer, start_process, start_server, stop_server

from petdx.study.accounts import create_account
from petdx.study.config import StudyConfig
from petdx.study.database import init_study, open_database
from petdx.study.roles import Role
from petdx.study.schema import audit_log, exchange_table, web_sessions

USERS = int(os.environ.get("PETDX_BENCH_WEB_USERS", "20"))
#: ``petdx serve --workers`` of each run (each database is measured with each count).
WORKERS = tuple(int(w) for w in os.environ.get("PETDX_BENCH_WEB_WORKERS", "1,2").split(","))
SECONDS = float(os.environ.get("PETDX_BENCH_WEB_SECONDS", "60"))
PASSWORD = "benchmark password 2026"
#: Each user signs out and in again every this many turns (an Argon2id verification each).
SIGN_OUT_EVERY = 50
#: ... and enters a new patient every this many turns.
PATIENT_EVERY = 5
#: The patient form's values (the study tests' first patient; the id is the user's own).
_PATIENT = {k: v for k, v in PATIENTS[0].items() if k != "patient_id"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Load:
    """What the clients saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    sign_ins: int = 0
    sign_outs: int = 0
    patients: list[str] = field(default_factory=list)

    def note(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def all(self) -> list[float]:
        return [s for values in self.latencies.values() for s in values]


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


async def _request(
    client: httpx.AsyncClient,
    load: Load,
    kind: str,
    method: str,
    path: str,
    expect: int,
    **kw: object,
) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = await client.request(method, path, **kw)  # type: ignore[arg-type]
    except httpx.HTTPError as exc:
        load.errors.append(f"{kind}: {type(exc).__name__}")
        return None
    load.note(kind, time.perf_counter() - start)
    if response.status_code != expect:
        load.errors.append(f"{kind}: HTTP {response.status_code}")
        return None
    return response


async def _sign_in(client: httpx.AsyncClient, load: Load, name: str) -> str | None:
    page = await _request(client, load, "GET /login", "GET", "/login", 200)
    if page is None:
        return None
    found = _CSRF.search(page.text)
    token = found.group(1) if found else ""
    data = {"name": name, "password": PASSWORD, "csrf_token": token}
    answer = await _request(client, load, "POST /login", "POST", "/login", 303, data=data)
    if answer is None:
        return None
    load.sign_ins += 1
    home = await _request(client, load, "GET /", "GET", "/", 200)
    if home is None:
        return None
    found = _CSRF.search(home.text)
    return found.group(1) if found else ""


async def _user(
    client: httpx.AsyncClient, name: str, csrf: str | None, deadline: float, load: Load
) -> None:
    turn = 0
    while time.monotonic() < deadline:
        turn += 1
        if csrf is None:
            csrf = await _sign_in(client, load, name)
            continue
        if turn % PATIENT_EVERY == 0:
            patient = f"BENCH-{name}-{turn:05d}"
            data = {**_PATIENT, "patient_id": patient, "csrf_token": csrf}
            saved = await _request(
                client, load, "POST /patients/new", "POST", "/patients/new", 303, data=data
            )
            if saved is not None:
                load.patients.append(patient)
            continue
        if turn % SIGN_OUT_EVERY == 0:
            out = await _request(
                client,
                load,
                "POST /logout",
                "POST",
                "/logout",
                303,
                data={"csrf_token": csrf},
            )
            if out is not None:
                load.sign_outs += 1
            csrf = None
            continue
        page = "/" if turn % 2 else "/patients"
        await _request(client, load, f"GET {page}", "GET", page, 200)


def _drive(url: str, names: list[str]) -> tuple[Load, float]:
    """Every user signs in at once (the storm, timed apart), then the loop for SECONDS."""
    load = Load()
    storm = Load()

    async def main() -> float:
        clients = [httpx.AsyncClient(base_url=url, timeout=60.0) for _ in names]
        try:
            start = time.perf_counter()
            tokens = await asyncio.gather(
                *(_sign_in(c, storm, n) for c, n in zip(clients, names, strict=True))
            )
            storm_s = time.perf_counter() - start
            deadline = time.monotonic() + SECONDS
            await asyncio.gather(
                *(
                    _user(c, n, t, deadline, load)
                    for c, n, t in zip(clients, names, tokens, strict=True)
                )
            )
            return storm_s
        finally:
            for client in clients:
                await client.aclose()

    storm_s = asyncio.run(main())
    load.errors += storm.errors
    load.sign_ins += storm.sign_ins
    return load, storm_s


def _study(folder: Path, url: str) -> Path:
    study = init_study(folder, StudyConfig(name="bench_web", database_url=url))
    database = open_database(study)
    try:
        for k in range(USERS):
            create_account(
                database,
                f"user{k:02d}",
                role=Role.COORDINATOR,
                site="bench",
                password=PASSWORD,
                actor="bench",
            )
    finally:
        database.dispose()
    return study.root


def _lost_writes(study_root: Path, load: Load) -> int:
    from petdx.study.config import open_study

    database = open_database(open_study(study_root))
    try:
        with database.engine.connect() as connection:

            def count(reason: str) -> int:
                query = (
                    select(func.count())
                    .select_from(audit_log)
                    .where(audit_log.c.table_name == "web_sessions", audit_log.c.reason == reason)
                )
                return int(connection.execute(query).scalar_one())

            signed_in, signed_out = count("signed in"), count("signed out")
            open_now = int(
                connection.execute(select(func.count()).select_from(web_sessions)).scalar_one()
            )
            patients = exchange_table("patients")
            stored = set(
                connection.execute(
                    select(patients.c.patient_id).where(patients.c.patient_id.like("BENCH-%"))
                ).scalars()
            )
            audited = set(
                connection.execute(
                    select(audit_log.c.record_key).where(
                        audit_log.c.table_name == "patients", audit_log.c.action == "insert"
                    )
                ).scalars()
            )
    finally:
        database.dispose()
    saved = set(load.patients)
    return (
        abs(signed_in - load.sign_ins)
        + abs(signed_out - load.sign_outs)
        + abs(open_now - (load.sign_ins - load.sign_outs))
        + len(saved - stored)
        + len(stored - audited)
    )


@contextmanager
def _running(start: Callable[[], LiveServer]) -> Iterator[LiveServer]:
    server = start()
    try:
        yield server
    finally:
        stop_server(server)


def _line(name: str, load: Load, lost: int | None) -> str:
    values = load.all()
    kinds = ", ".join(f"{kind} {_p95(v) * 1e3:.0f}" for kind, v in sorted(load.latencies.items()))
    n_writes = load.sign_ins + load.sign_outs + len(load.patients)
    writes = "" if lost is None else f", {n_writes} writes, lost {lost}"
    return (
        f"  {name:<40s} {len(values):6d} requests ({len(values) / SECONDS:5.0f}/s), "
        f"p50 {statistics.median(values) * 1e3:6.1f} ms, p95 {_p95(values) * 1e3:6.1f} ms, "
        f"errors {len(load.errors)}{writes}\n    p95 by request (ms): {kinds}\n"
    )


def _processes(workers: int) -> str:
    return f"{workers} process" + ("es" if workers > 1 else "")


def _measure(study: Path, names: list[str], workers: int) -> tuple[Load, int | None, float]:
    """The load on ``petdx serve STUDY --workers WORKERS``, and the writes it lost."""
    with _running(
        lambda: start_server(study, study.parent / f"{study.name}.log", workers=workers)
    ) as server:
        load, storm_s = _drive(server.url, names)
    return load, _lost_writes(study, load), storm_s


def run() -> str:
    names = [f"user{k:02d}" for k in range(USERS)]
    results: dict[str, tuple[Load, int | None, float]] = {}
    with tempfile.TemporaryDirectory(prefix="petdx-bench-web-") as tmp:
        root = Path(tmp)
        peer_command = [
            sys.executable,
            "-m",
            "uvicorn",
            "benchmarks._web_peer:app",
            "--log-level",
            "warning",
            "--no-access-log",
            "--port",
        ]
        with _running(
            lambda: start_process(lambda p: [*peer_command, str(p)], root / "peer.log")
        ) as peer:
            load, storm_s = _drive(peer.url, names)
            results["peer (bare Starlette)"] = (load, None, storm_s)
        for workers in WORKERS:
            study = _study(root / f"sqlite-{workers}", "sqlite:///study.sqlite")
            results[f"petdx serve, SQLite, {_processes(workers)}"] = _measure(study, names, workers)
        with postgres_server() as pg:
            for workers in WORKERS:
                study = _study(root / f"postgres-{workers}", pg.new_database())
                results[f"petdx serve, PostgreSQL, {_processes(workers)}"] = _measure(
                    study, names, workers
                )
    peer_p95 = _p95(results["peer (bare Starlette)"][0].all())
    text = f"## Web application under load (bench_web): {USERS} users x {SECONDS:.0f} s\n"
    for name, (load, lost, storm_s) in results.items():
        text += _line(name, load, lost)
        text += (
            f"    first sign-in of all {USERS} users at once: {storm_s:.1f} s (not in the p95)\n"
        )
        if load.errors:
            text += f"    first errors: {', '.join(sorted(set(load.errors))[:5])}\n"
    for name in (n for n in results if n.startswith("petdx")):
        ratio = peer_p95 / _p95(results[name][0].all())
        text += f"  ratio p95 peer / {name} = {ratio:.2f}x\n"
    text += "  goal: p95 < 200 ms, 0 errors, 0 lost writes\n"
    print(text, flush=True)
    return text


if __name__ == "__main__":
    run()
