"""``kill -9`` of ``petdx serve`` during saves: every record is stored with its audit row or
absent, the audit trail verifies, and the restarted server works.

Two saves: a sign-in (a ``web_sessions`` row and its audit row in one transaction), and a
coordinator's new patient through the form (``POST /patients/new``: the patient, its site
and their audit rows in one transaction). Clients save over and over while the server is
killed, three times, so that requests are in flight at each kill.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from petdx.study.audit import audit_history
from petdx.study.config import StudyFolder
from petdx.study.database import open_database
from petdx.study.integrity import verify_study
from petdx.study.roles import Role
from petdx.study.schema import web_sessions
from tests.study.cohort import PATIENTS
from tests.web.conftest import ACCOUNTS, BOTH_DATABASES, PASSWORD
from tests.web.server import start_server, stop_server

pytestmark = pytest.mark.slow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in_forever(url: str, name: str, stop: threading.Event, outcome: dict[str, int]) -> None:
    while not stop.is_set():
        try:
            with httpx.Client(base_url=url, timeout=10) as client:
                page = client.get("/login")
                found = _CSRF.search(page.text)
                token = found.group(1) if found else ""
                answer = client.post(
                    "/login", data={"name": name, "password": PASSWORD, "csrf_token": token}
                )
                key = "stored" if answer.status_code == 303 else f"http {answer.status_code}"
        except httpx.TransportError:
            key = "cut off"
        outcome[key] = outcome.get(key, 0) + 1
        if key == "cut off":
            return


@BOTH_DATABASES
def test_kill_9_during_sign_ins_leaves_each_session_with_its_audit_row_or_absent(
    web_study: StudyFolder, tmp_path: Path
) -> None:
    names = [ACCOUNTS[role] for role in Role] * 2
    cut_off = 0
    stored = 0
    for round_ in range(2):
        server = start_server(web_study.root, tmp_path / f"serve-{round_}.log")
        stop = threading.Event()
        outcome: dict[str, int] = {}
        threads = [
            threading.Thread(target=_sign_in_forever, args=(server.url, n, stop, outcome))
            for n in names
        ]
        for thread in threads:
            thread.start()
        time.sleep(2.0 + round_)  # sign-ins under way
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(30)
        stop_server(server)
        assert set(outcome) <= {"stored", "cut off"}, outcome
        cut_off += outcome.get("cut off", 0)
        stored += outcome.get("stored", 0)
    assert stored > 0
    assert cut_off > 0  # requests were in flight at the kills
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            sessions = set(connection.execute(select(web_sessions.c.session_id)).scalars())
            audited = {
                e.record_key
                for e in audit_history(connection, table_name="web_sessions")
                if e.reason == "signed in"
            }
    finally:
        database.dispose()
    assert sessions == audited  # each session with its audit row, no audit row without one
    assert len(sessions) >= stored  # every sign-in a client saw succeed is there
    result = verify_study(web_study)
    assert result.ok, str(result)
    server = start_server(web_study.root, tmp_path / "serve-after.log")
    try:
        with httpx.Client(base_url=server.url) as client:
            token = _CSRF.search(client.get("/login").text)
            assert token is not None
            answer = client.post(
                "/login",
                data={"name": "admin", "password": PASSWORD, "csrf_token": token.group(1)},
            )
            assert answer.status_code == 303
    finally:
        stop_server(server)


_PATIENT = {k: v for k, v in PATIENTS[0].items() if k != "patient_id"}


def _save_patients_forever(
    url: str, worker: int, stop: threading.Event, outcome: dict[str, list[str]]
) -> None:
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            page = client.get("/login")
            found = _CSRF.search(page.text)
            data = {
                "name": "coordinator",
                "password": PASSWORD,
                "csrf_token": found.group(1) if found else "",
            }
            if client.post("/login", data=data).status_code != 303:
                outcome.setdefault("refused sign-in", []).append(str(worker))
                return
            home = _CSRF.search(client.get("/").text)
            token = home.group(1) if home else ""
            n = 0
            while not stop.is_set():
                n += 1
                patient = f"KILL-{worker}-{n:04d}-{time.monotonic_ns() % 10**6}"
                answer = client.post(
                    "/patients/new", data={**_PATIENT, "patient_id": patient, "csrf_token": token}
                )
                key = "stored" if answer.status_code == 303 else f"http {answer.status_code}"
                outcome.setdefault(key, []).append(patient)
    except httpx.TransportError:
        outcome.setdefault("cut off", []).append(str(worker))


@BOTH_DATABASES
def test_kill_9_during_form_saves_leaves_each_patient_with_its_audit_rows_or_absent(
    web_study: StudyFolder, tmp_path: Path
) -> None:
    from petdx.study.schema import exchange_table, patient_sites

    stored: set[str] = set()
    cut_off = 0
    for round_ in range(2):
        server = start_server(web_study.root, tmp_path / f"serve-{round_}.log")
        stop = threading.Event()
        outcome: dict[str, list[str]] = {}
        threads = [
            threading.Thread(target=_save_patients_forever, args=(server.url, k, stop, outcome))
            for k in range(6)
        ]
        for thread in threads:
            thread.start()
        time.sleep(3.0 + round_)  # saves under way
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(30)
        stop_server(server)
        assert set(outcome) <= {"stored", "cut off"}, {k: v[:3] for k, v in outcome.items()}
        stored |= set(outcome.get("stored", []))
        cut_off += len(outcome.get("cut off", []))
    assert stored
    assert cut_off > 0
    patients = exchange_table("patients")
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            rows = set(connection.execute(select(patients.c.patient_id)).scalars())
            sites = set(connection.execute(select(patient_sites.c.patient_id)).scalars())
            trail = audit_history(connection)
    finally:
        database.dispose()
    audited = {e.record_key for e in trail if e.table_name == "patients" and e.action == "insert"}
    assert stored <= rows  # every save a client saw succeed is there
    assert rows == audited  # and each stored patient has its audit row; no row without one
    assert rows == sites
    result = verify_study(web_study)
    assert result.ok, str(result)
