"""Blinding by construction, over every reader route: markers planted in every table of
:data:`petdx.study.blinding.FORBIDDEN_TABLES` and in the DICOM headers of the stored series
never appear in any response a reader's session receives, on every route the policy table
opens to readers (enumerated from the application, so a route added later is covered
without a change here); reader B gets 403 on every route of reader A's case and never sees
A's reads. On a copy of the demo study (simulated, ingested, quantified)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from sqlalchemy import String, Text, func, select

from petdx.study.blinding import FORBIDDEN_TABLES
from petdx.study.config import ReadingConfig, StudyFolder, open_study
from petdx.study.database import StudyDatabase
from petdx.study.reading import reader_case
from petdx.study.roles import Role
from petdx.study.schema import instances, metadata
from petdx.web import create_app
from petdx.web.policy import POLICY
from tests.demo_study import DemoStudy, copy_study
from tests.web.conftest import Clock, add_role_accounts
from tests.web.reader_helpers import Clients, read_case, with_readers, worklist_ids

pytestmark = pytest.mark.slow

MARK = "QZXM"
READING = ReadingConfig(readers=("reader-a", "reader-b"), adjudicator="reader-c")
_PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")


def plant_markers(database: StudyDatabase) -> dict[str, int]:
    """Write ``MARK...`` into every text column (not a key) of every row of every forbidden
    table, and a marker row into the audit trail and the study settings; returns the number
    of values planted per table. Not through the audited writes: the planting is the test's."""
    planted: dict[str, int] = {}
    with database.begin() as c:
        for name in sorted(FORBIDDEN_TABLES):
            table = metadata.tables[name]
            if name == "audit_log":  # append-only: a marker row
                top = c.execute(select(func.max(table.c.seq))).scalar() or 0
                text = {
                    col.name: f"{MARK}-audit"
                    for col in table.c
                    if isinstance(col.type, String | Text)
                }
                c.execute(table.insert().values(seq=top + 10**6, **text))
                planted[name] = len(text)
                continue
            if name == "patient_identity":  # every column a key: a marker row
                patients = metadata.tables["patients"]
                patient = c.execute(select(patients.c.patient_id)).scalars().first()
                c.execute(
                    table.insert().values(
                        record_key=f"{MARK}-key",
                        issuer=f"{MARK}-issuer",
                        hospital_id=f"{MARK}-mrn",
                        patient_id=patient,
                    )
                )
                planted[name] = 2
                continue
            if name == "study_meta":  # the study's secret and chain head stay usable
                c.execute(table.insert().values(key=f"{MARK}-key", value=f"{MARK}-meta"))
                planted[name] = 1
                continue
            columns = [
                col
                for col in table.c
                if isinstance(col.type, String | Text)
                and not col.primary_key
                and not col.foreign_keys
                and col.name != "record_key"
            ]
            keys = list(table.primary_key.columns)
            count = 0
            for i, row in enumerate(c.execute(select(*keys)).all()):
                where = [k == v for k, v in zip(keys, row, strict=True)]
                values = {col.name: f"{MARK}-{name}-{col.name}-{i}" for col in columns}
                if values:
                    c.execute(table.update().where(*where).values(**values))
                    count += len(values)
            planted[name] = count
    return planted


def plant_dicom(study: StudyFolder, database: StudyDatabase, series: list[str]) -> int:
    """Put markers into identifying and free-text header fields of every stored file of
    ``series`` (the de-identified copies under images/). Returns the files changed."""
    changed = 0
    with database.engine.connect() as c:
        paths = [
            study.root / str(p)
            for p in c.execute(
                select(instances.c.path).where(instances.c.series_uid.in_(series))
            ).scalars()
        ]
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.InstitutionName = f"{MARK}-institution"
        ds.StudyDescription = f"{MARK}-study"
        ds.PatientComments = f"{MARK}-comments"
        ds.ReferringPhysicianName = f"{MARK}^referrer"
        ds.save_as(path)
        changed += 1
    return changed


@pytest.fixture
def reader_app(demo_study: DemoStudy, tmp_path: Path) -> Iterator[tuple[FastAPI, StudyFolder]]:
    study = open_study(copy_study(demo_study.reference, tmp_path / "study"))
    study = with_readers(add_role_accounts(study), READING)
    app = create_app(study.root, clock=Clock())
    yield app, study
    app.state.web.database.dispose()


def reader_routes(app: FastAPI) -> list[tuple[str, str, str]]:
    """(name, method, path template) of every route the policy opens to readers (but
    ``logout``, which ends the session the other requests need; it shows nothing)."""
    out = []
    for context in iter_route_contexts(app.router.routes):
        if context.name == "logout":
            continue
        if Role.READER in POLICY.get(context.name, frozenset()):
            out.extend(
                (context.name, m, context.path)
                for m in sorted(context.methods or ())
                if m != "HEAD"
            )
    return out


def _paths(template: str, case_id: str, series: list[str]) -> list[str]:
    names = [m.group(1) for m in _PARAM.finditer(template)]
    values = {"case_id": [case_id], "series_uid": series or ["probe"]}
    paths = [template]
    for name in names:
        paths = [
            p.replace(m, v)
            for p in paths
            for m in [next(x.group(0) for x in _PARAM.finditer(p) if x.group(1) == name)]
            for v in values.get(name, ["probe"])
        ]
    return paths


def _body(response_content: bytes) -> bytes:
    if response_content[:2] == b"\x1f\x8b":
        return gzip.decompress(response_content)
    return response_content


def test_no_marker_reaches_a_reader_and_reader_b_is_refused_a_s_case(
    reader_app: tuple[FastAPI, StudyFolder],
) -> None:
    app, study = reader_app
    database: StudyDatabase = app.state.web.database
    planted = plant_markers(database)
    empty = sorted(name for name, n in planted.items() if n == 0)
    assert set(planted) == FORBIDDEN_TABLES
    # every forbidden table holds a marker (none is empty or without a text column here)
    assert empty == [], empty
    clients = Clients(app)
    try:
        a, b = clients("reader-a"), clients("reader-b")
        cases_a, cases_b = worklist_ids(a), worklist_ids(b)
        assert cases_a
        # B's read carries a marker of its own in a changed version's reason
        assert read_case(b, cases_b[0], lambda _: 4) == 303
        assert read_case(b, cases_b[0], lambda _: 3, reason=f"{MARK}-reader-b") == 303
        with database.engine.connect() as c:
            case = reader_case(c, "reader-a", cases_a[0])
        series = [u for u in (*case.pet_series_uids, *case.anatomy_series_uids) if u]
        assert plant_dicom(study, database, series) > 0
        routes = reader_routes(app)
        assert {"reader_worklist", "reader_case", "reader_case_submit"} <= {n for n, _, _ in routes}
        seen: list[bytes] = []
        for name, method, template in routes:
            for path in _paths(template, cases_a[0], series):
                # the CSRF token in the header, as the pages' scripts send it (a JSON route
                # reads the body itself)
                if method == "GET":
                    response = a.get(path)
                else:
                    response = a.request(method, path, headers={"x-csrf-token": a.csrf})
                assert response.status_code < 500, (name, path, response.text[:300])
                seen.append(_body(response.content))
                seen.append(str(response.headers).encode())
                if "{case_id}" in template:  # B: refused on every route of A's case
                    other = b.request(method, path, headers={"x-csrf-token": b.csrf})
                    assert other.status_code == 403, (name, path)
                    seen_b = _body(other.content)
                    assert MARK.encode() not in seen_b
        # A's own read through the page, then every page again
        assert read_case(a, cases_a[0], lambda _: 5) == 303
        seen.append(a.get("/read").content)
        seen.append(a.get(f"/read/cases/{cases_a[0]}").content)
        for body in seen:
            assert MARK.encode() not in body
        for case_b in cases_b:
            assert all(case_b.encode() not in body for body in seen)
    finally:
        clients.close()
