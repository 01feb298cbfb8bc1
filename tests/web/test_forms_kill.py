"""``kill -9`` of ``petdx serve`` during form saves: every record a coordinator saved is
stored with its audit row or absent, the study verifies, and the restarted server saves.

Six coordinator sessions save new radiation-history records (each save: the record, its audit
row and the data-quality run, one transaction) over and over while the server is killed,
twice, so that saves are in flight at each kill.
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
from petdx.study.forms import save_form
from petdx.study.integrity import verify_study
from petdx.study.records import Author
from petdx.study.roles import Role
from petdx.study.schema import exchange_table
from tests.study.cohort import PATIENTS, SCREENING
from tests.web.conftest import ACCOUNTS, BOTH_DATABASES, PASSWORD
from tests.web.server import start_server, stop_server

pytestmark = pytest.mark.slow

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM = "/patients/SIM-0001/forms/exposures"


def _signed_in(client: httpx.Client) -> str:
    found = _CSRF.search(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "name": ACCOUNTS[Role.COORDINATOR],
            "password": PASSWORD,
            "csrf_token": found.group(1) if found else "",
        },
    )
    assert answer.status_code == 303, answer.text
    page = client.get(_FORM)
    found = _CSRF.search(page.text)
    assert found is not None
    return found.group(1)


def _save_forever(
    url: str, prefix: str, stop: threading.Event, saved: list[str], other: list[str]
) -> None:
    try:
        with httpx.Client(base_url=url, timeout=10) as client:
            token = _signed_in(client)
            n = 0
            while not stop.is_set():
                n += 1
                record = f"{prefix}-{n}"
                data = {
                    "csrf_token": token,
                    "mode": "create",
                    "exposure_id": record,
                    "exposure_date": "2025-01-10",
                    "modality": "CT",
                    "effective_dose_msv": "0.01",
                }
                answer = client.post(_FORM, data=data)
                if answer.status_code == 200 and "Saved (inserted)" in answer.text:
                    saved.append(record)
                else:
                    other.append(f"{record}: http {answer.status_code}")
    except httpx.TransportError:
        other.append("cut off")


@BOTH_DATABASES
def test_kill_9_during_form_saves_leaves_each_record_with_its_audit_row_or_absent(
    web_study: StudyFolder, tmp_path: Path
) -> None:
    database = open_database(web_study)
    try:
        with database.begin_write() as c:
            setup = Author("setup")
            save_form(c, "patients", PATIENTS[0], author=setup, create=True, site="site-a")
            save_form(c, "screening", SCREENING[0], author=setup, create=True)
    finally:
        database.dispose()
    saved: list[str] = []
    other: list[str] = []
    for round_ in range(2):
        server = start_server(web_study.root, tmp_path / f"serve-{round_}.log")
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_save_forever, args=(server.url, f"K{round_}{t}", stop, saved, other)
            )
            for t in range(6)
        ]
        for thread in threads:
            thread.start()
        time.sleep(3.0 + round_)  # saves under way
        server.kill()
        stop.set()
        for thread in threads:
            thread.join(30)
        stop_server(server)
    assert set(other) == {"cut off"}  # no refused save; requests were in flight at the kills
    assert saved
    database = open_database(web_study)
    try:
        with database.engine.connect() as connection:
            exposures = exchange_table("exposures")
            stored = set(connection.execute(select(exposures.c.exposure_id)).scalars())
            trail = audit_history(connection, table_name="exposures")
    finally:
        database.dispose()
    audited = {e.record_key for e in trail if e.action == "insert"}
    assert stored == audited  # each record with its audit row, no audit row without one
    assert set(saved) <= stored  # every save a client saw succeed is there
    result = verify_study(web_study)
    assert result.ok, str(result)
    server = start_server(web_study.root, tmp_path / "serve-after.log")
    try:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            token = _signed_in(client)
            data = {
                "csrf_token": token,
                "mode": "create",
                "exposure_id": "AFTER-1",
                "exposure_date": "2025-01-10",
                "modality": "CT",
                "effective_dose_msv": "0.01",
            }
            assert "Saved (inserted)" in client.post(_FORM, data=data).text
    finally:
        stop_server(server)
