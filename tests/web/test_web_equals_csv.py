"""The issue's acceptance, through the web application: the same patients entered by a
coordinator in the browser's forms (HTTP posts with the CSRF token, as the pages send them)
and imported by CSV into a second study give the same rows, the same eligibility verdicts and
the same audit entries, apart from the user and the time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from petdx.study.audit import audit_history, verify_audit_trail
from petdx.study.config import StudyConfig
from petdx.study.database import StudyDatabase, init_study, open_database
from petdx.study.eligibility import screening_log
from petdx.study.importing import import_csv
from petdx.study.queries import table_snapshot
from petdx.study.records import Author
from petdx.study.roles import Role
from tests.study.cohort import EXPOSURES, PATIENTS, SCREENING, write_csv
from tests.study.test_forms_workflow import _strip
from tests.web.conftest import WebClient

_TABLES = ("patients", "screening", "exposures")


def _post(client: WebClient, url: str, data: dict[str, str]) -> int:
    return client.post(url, data={**data, "csrf_token": client.csrf}).status_code


def test_web_entry_and_csv_import_give_the_same_rows_verdicts_and_audit(
    app: FastAPI, client_as: Callable[[Role], WebClient], tmp_path: Path
) -> None:
    coordinator = client_as(Role.COORDINATOR)
    for patient in PATIENTS:
        assert _post(coordinator, "/patients/new", dict(patient)) == 303
    for row in SCREENING:
        url = f"/patients/{row['patient_id']}/forms/screening"
        assert _post(coordinator, url, {**row, "mode": "create"}) == 200
    for row in EXPOSURES:
        url = f"/patients/{row['patient_id']}/forms/exposures"
        assert _post(coordinator, url, {**row, "mode": "create"}) == 200

    by_csv = open_database(init_study(tmp_path / "csv", StudyConfig()))
    rows = {"patients": PATIENTS, "screening": SCREENING, "exposures": EXPOSURES}
    try:
        for table in _TABLES:
            path = write_csv(tmp_path / f"{table}.csv", rows[table])
            import_csv(by_csv, table, path, author=Author("importer"))
        web: StudyDatabase = app.state.web.database
        with web.engine.connect() as a, by_csv.engine.connect() as b:
            for table in _TABLES:
                assert table_snapshot(a, table) == table_snapshot(b, table), table
            verdicts_web = [d.to_dict() for d in screening_log(a)]
            assert verdicts_web == [d.to_dict() for d in screening_log(b)]
            assert any(not d["eligible"] for d in verdicts_web)  # not a vacuous comparison
            entered = [_strip(e) for e in audit_history(a) if e.table_name in _TABLES]
            imported = [_strip(e) for e in audit_history(b)]
            assert {e.actor for e in audit_history(a) if e.table_name in _TABLES} == {
                Role.COORDINATOR.value
            }
            assert verify_audit_trail(a).ok
            assert verify_audit_trail(b).ok
    finally:
        by_csv.dispose()

    def order(entry: tuple[object, ...]) -> tuple[int, str]:
        return _TABLES.index(str(entry[1])), str(entry[2])

    assert sorted(entered, key=order) == sorted(imported, key=order)
    assert len(entered) == sum(len(r) for r in rows.values())
