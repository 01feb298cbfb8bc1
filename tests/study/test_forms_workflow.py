"""Enrolment, data-quality queries, lock and e-signature, and the issue's test: one patient
entered through the forms library and imported by CSV gives the same rows, eligibility
verdicts and audit entries (apart from actor and time). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from petdx.errors import InputValidationError
from petdx.study.audit import audit_history, verify_audit_trail
from petdx.study.config import StudyConfig
from petdx.study.data_quality import (
    QueryStatus,
    answer_query,
    check_patient,
    close_query,
    list_queries,
    open_query_counts,
    query_counts,
    raise_query,
    reopen_query,
    run_data_quality,
)
from petdx.study.database import StudyDatabase, init_study, open_database
from petdx.study.eligibility import screening_log
from petdx.study.enrolment import EnrolmentRefused, enrol_patient, enrolment, radiation_budget
from petdx.study.forms import (
    AccessRefused,
    FormRejected,
    count_patients,
    list_patients,
    mark_complete,
    patient_page,
    save_form,
)
from petdx.study.importing import import_csv
from petdx.study.queries import table_snapshot
from petdx.study.records import Author
from petdx.study.roles import Role
from petdx.study.signoff import lock_patient, lock_state, sign_patient, unlock_patient
from tests.study.cohort import EXPOSURES, LESIONS, PATIENTS, SCREENING, write_csv

COORD = Author("coord-a")
DM = "dm-1"
P1, S1 = PATIENTS[0], SCREENING[0]


def _enter(database: StudyDatabase, site: str = "site-a") -> None:
    with database.begin() as c:
        save_form(c, "patients", P1, author=COORD, create=True, site=site)
        save_form(c, "screening", S1, author=COORD, create=True)


def _exposure(n: int, when: str, msv: str) -> dict[str, str]:
    return {
        "exposure_id": f"SIM-0001-X{n}",
        "patient_id": "SIM-0001",
        "exposure_date": when,
        "modality": "CT",
        "effective_dose_msv": msv,
        "description": "interventional CT (dose stated)",
    }


def test_enrolment_is_refused_over_the_radiation_budget_then_granted(
    database: StudyDatabase,
) -> None:
    _enter(database)
    # Stated doses 30 + 25 = 55 mSv in the 365 days before 2025-05-12: over the protocol's
    # 50 mSv (docs/protocol.md, exclusion criterion 4).
    with database.begin() as c:
        save_form(c, "exposures", _exposure(1, "2025-01-10", "30"), author=COORD, create=True)
        save_form(c, "exposures", _exposure(2, "2025-03-10", "25"), author=COORD, create=True)
        budget = radiation_budget(c, "SIM-0001")
        assert budget is not None
        assert budget.known_msv == 55.0
        assert [e.exposure_id for e in budget.exposures] == ["SIM-0001-X1", "SIM-0001-X2"]
    before = database.content_hash()
    refused = r"fails radiation_under_50msv: 55.00 mSv"
    with pytest.raises(EnrolmentRefused, match=refused) as info, database.begin() as c:
        enrol_patient(c, "SIM-0001", author=COORD)
    assert info.value.decision is not None
    assert info.value.decision.failed == ("radiation_under_50msv",)
    assert database.content_hash() == before
    with database.begin() as c:
        # the second dose was 15 mSv (a transcription error): 45 mSv passes
        save_form(
            c,
            "exposures",
            _exposure(2, "2025-03-10", "15"),
            author=Author("coord-a", "dose from the report"),
        )
        decision = enrol_patient(c, "SIM-0001", author=COORD)
        assert decision.eligible
        stored = enrolment(c, "SIM-0001")
        assert stored is not None
        assert stored.enrolled_by == "coord-a"
        assert {r["verdict"] for r in stored.criteria} == {"pass"}
        assert audit_history(c, table_name="enrolments")[-1].patient_id == "SIM-0001"
        with pytest.raises(EnrolmentRefused, match="already enrolled"):
            enrol_patient(c, "SIM-0001", author=COORD)


def test_enrolment_names_every_undecided_criterion(database: StudyDatabase) -> None:
    with database.begin() as c:
        save_form(c, "patients", P1, author=COORD, create=True, site="site-a")
        save_form(c, "screening", {**S1, "consent_date": ""}, author=COORD, create=True)
    with pytest.raises(EnrolmentRefused) as info, database.begin() as c:
        enrol_patient(c, "SIM-0001", author=COORD)
    assert "undecided age_18_or_over" in str(info.value)
    assert "undecided written_consent: consent signed but not dated" in str(info.value)


def test_rules_raise_queries_once_and_the_lifecycle_follows_the_roles(
    database: StudyDatabase,
) -> None:
    _enter(database)
    inconsistent = {
        **S1,
        "malignancy_confirmed": "unknown",
        "consent_date": "2025-05-03",  # the screening visit was 2025-05-02
    }
    with database.begin() as c:
        result = save_form(c, "screening", inconsistent, author=COORD)
        findings = {(f.field, f.rule) for f in check_patient(c, "SIM-0001")}
        assert ("confirmation_method", "inconsistent") in findings
        assert ("malignancy_confirmed", "missing") in findings
        assert ("consent_date", "date_order") in findings
        assert len(result.queries_raised) == len(findings)
        assert run_data_quality(c, "SIM-0001", actor=COORD.actor) == []  # no duplicates
        queries = list_queries(c, site="site-a", form="screening", status="open")
        assert len(queries) == len(findings)
        assert list_queries(c, site="site-b") == []
        target = next(q for q in queries if q.field == "confirmation_method")
        assert target.site == "site-a"
        assert target.rule == "inconsistent"
        qid = target.query_id
        for role in (Role.DATA_MANAGER, Role.INVESTIGATOR, Role.READER):
            with pytest.raises(AccessRefused):
                answer_query(c, qid, "checked", actor="x", role=role)
        answer_query(
            c, qid, "pathology pending; method cleared", actor="coord-a", role="coordinator"
        )
        for role in (Role.COORDINATOR, Role.INVESTIGATOR, Role.ADMIN, Role.STATISTICIAN):
            with pytest.raises(AccessRefused, match="only a data manager"):
                close_query(c, qid, actor="x", role=role)
        close_query(c, qid, actor=DM, role=Role.DATA_MANAGER)
        with pytest.raises(InputValidationError, match="already closed"):
            close_query(c, qid, actor=DM, role=Role.DATA_MANAGER)
        # closed: the same finding raises a new query on the next run
        again = run_data_quality(c, "SIM-0001", actor=COORD.actor)
        assert len(again) == 1
        reopen_query(c, qid, "answer not convincing", actor=DM, role=Role.DATA_MANAGER)
        statuses = {q.query_id: q.status for q in list_queries(c, patient_id="SIM-0001")}
        assert statuses[qid] is QueryStatus.OPEN
        manual = raise_query(
            c,
            "SIM-0001",
            "patients",
            {"patient_id": "SIM-0001"},
            "weight_kg",
            "62.5 kg: please check against the scale log",
            actor=DM,
            role=Role.DATA_MANAGER,
        )
        with pytest.raises(AccessRefused):
            raise_query(
                c,
                "SIM-0001",
                "patients",
                {"patient_id": "SIM-0001"},
                "weight_kg",
                "?",
                actor="coord-a",
                role=Role.COORDINATOR,
            )
        counts = query_counts(c, site="site-a")
        assert counts[("site-a", "patients", "open")] == 1
        # the patient list's counts: open queries only, of the patients asked about only
        open_now = [q.patient_id for q in list_queries(c, status="open")]
        assert open_query_counts(c, ["SIM-0001", "SIM-9999"]) == {
            "SIM-0001": open_now.count("SIM-0001")
        }
        # the findings' queries but the closed one, its new query, the reopened one, the manual one
        assert open_now.count("SIM-0001") == len(findings) - 1 + 1 + 1 + 1
        assert open_query_counts(c, []) == {}
        history = audit_history(c, table_name="data_queries")
        assert verify_audit_trail(c).ok
    mine = [e for e in history if e.record_key == qid]
    assert [e.new_values.get("status") for e in mine if e.new_values] == [
        "open",
        "answered",
        "closed",
        "open",
    ]
    assert mine[1].actor == "coord-a"
    assert mine[2].actor == DM
    assert any(e.record_key == manual for e in history)


def test_lock_sign_and_unlock(database: StudyDatabase) -> None:
    _enter(database)
    with database.begin() as c:
        with pytest.raises(AccessRefused):
            lock_patient(c, "SIM-0001", actor="coord-a", role=Role.COORDINATOR)
        with pytest.raises(InputValidationError, match="not locked"):
            sign_patient(c, "SIM-0001", actor="pi", role=Role.INVESTIGATOR, password_verified=True)
        lock_patient(c, "SIM-0001", actor=DM, role=Role.DATA_MANAGER)
        with pytest.raises(AccessRefused, match="password"):
            sign_patient(c, "SIM-0001", actor="pi", role=Role.INVESTIGATOR, password_verified=False)
        with pytest.raises(AccessRefused):
            sign_patient(c, "SIM-0001", actor=DM, role=Role.DATA_MANAGER, password_verified=True)
        sign_patient(c, "SIM-0001", actor="pi", role=Role.INVESTIGATOR, password_verified=True)
        state = lock_state(c, "SIM-0001")
        assert state is not None
        assert state.signed_by == "pi"
    before = database.content_hash()
    writes = [
        lambda c: save_form(c, "patients", {**P1, "weight_kg": "70"}, author=Author("x", "r")),
        lambda c: save_form(
            c, "exposures", _exposure(1, "2025-01-10", "1"), author=COORD, create=True
        ),
        lambda c: mark_complete(c, "SIM-0001", "screening", author=COORD),
        lambda c: enrol_patient(c, "SIM-0001", author=COORD),
    ]
    for write in writes:
        with pytest.raises(FormRejected, match="locked"), database.begin() as c:
            write(c)
    assert database.content_hash() == before
    with database.begin() as c:
        with pytest.raises(InputValidationError, match="reason"):
            unlock_patient(c, "SIM-0001", " ", actor=DM, role=Role.DATA_MANAGER)
        assert unlock_patient(c, "SIM-0001", "late lab result", actor=DM, role=Role.DATA_MANAGER)
        assert lock_state(c, "SIM-0001") is None
        save_form(c, "patients", {**P1, "weight_kg": "70"}, author=Author("coord-a", "lab"))
        trail = audit_history(c, table_name="patient_locks")
    assert [e.action for e in trail] == ["insert", "update", "delete"]
    assert trail[1].new_values is not None
    assert trail[1].new_values["signed_by"] == "pi"
    assert trail[2].reason is not None
    assert "signature is void" in trail[2].reason
    assert trail[2].old_values is not None
    assert trail[2].old_values["signed_by"] == "pi"


def _strip(entry: Any) -> tuple[Any, ...]:
    return (
        entry.action,
        entry.table_name,
        entry.record_key,
        entry.patient_id,
        entry.old_values,
        entry.new_values,
        entry.reason,
    )


_FORM_TABLES = ("patients", "screening", "exposures", "lesion_registry")


def test_forms_and_csv_import_give_the_same_rows_verdicts_and_audit(
    tmp_path: Path, database: StudyDatabase, db_url: str, request: pytest.FixtureRequest
) -> None:
    """The issue's acceptance test, on the library: the cohort's three patients entered
    through the forms, and imported by CSV into a second study."""
    second = db_url
    if not db_url.startswith("sqlite"):
        second = request.getfixturevalue("pg_server").new_database()
    by_csv = init_study(tmp_path / "csv", StudyConfig(database_url=second))
    forms_db, csv_db = database, open_database(by_csv)
    rows = {
        "patients": PATIENTS,
        "screening": SCREENING,
        "exposures": EXPOSURES,
        "lesion_registry": LESIONS,
    }
    try:
        for table in _FORM_TABLES:
            import_csv(
                csv_db, table, write_csv(tmp_path / f"{table}.csv", rows[table]), author=COORD
            )
            for row in rows[table]:
                with forms_db.begin() as c:
                    save_form(c, table, row, author=Author("coord-b"), create=True)
        with forms_db.engine.connect() as a, csv_db.engine.connect() as b:
            for table in _FORM_TABLES:
                assert table_snapshot(a, table) == table_snapshot(b, table), table
            assert [d.to_dict() for d in screening_log(a)] == [
                d.to_dict() for d in screening_log(b)
            ]
            # data-quality queries are the forms' own records (an import raises none)
            mine = [_strip(e) for e in audit_history(a) if e.table_name in _FORM_TABLES]
            theirs = [_strip(e) for e in audit_history(b)]
            assert verify_audit_trail(a).ok
            assert verify_audit_trail(b).ok
        # the import writes a table's rows in one transaction, the forms one row per save:
        # the same entries, in table order
        assert sorted(mine, key=_order) == sorted(theirs, key=_order)
        assert len(mine) == sum(len(r) for r in rows.values())
    finally:
        csv_db.dispose()


def _order(entry: tuple[Any, ...]) -> tuple[int, str]:
    return _FORM_TABLES.index(entry[1]), entry[2]


def test_the_patient_list_shows_each_patients_enrolment_lock_signature_and_forms(
    database: StudyDatabase,
) -> None:
    """list_patients joins enrolment and lock into its page query: the flags it shows are
    those of enrolment(), lock_state() and the form status, patient by patient."""
    _enter(database)
    with database.begin() as c:
        save_form(c, "exposures", _exposure(1, "2025-01-10", "10"), author=COORD, create=True)
        enrol_patient(c, "SIM-0001", author=COORD)
        mark_complete(c, "SIM-0001", "patients", author=COORD)
        lock_patient(c, "SIM-0001", actor=DM, role=Role.DATA_MANAGER)
        sign_patient(c, "SIM-0001", actor="pi", role=Role.INVESTIGATOR, password_verified=True)
        for n, site in ((1, "site-a"), (2, "site-b")):
            save_form(c, "patients", PATIENTS[n], author=COORD, create=True, site=site)
        lock_patient(c, PATIENTS[1]["patient_id"], actor=DM, role=Role.DATA_MANAGER)
    with database.begin() as c:
        listed = {p.patient_id: p for p in list_patients(c)}
        assert sorted(listed) == sorted(p["patient_id"] for p in PATIENTS[:3])
        for pid, shown in listed.items():
            lock = lock_state(c, pid)
            assert shown.enrolled == (enrolment(c, pid) is not None), pid
            assert shown.locked == (lock is not None), pid
            assert shown.signed == (lock is not None and lock.signed_by is not None), pid
        first = listed["SIM-0001"]
        assert (first.enrolled, first.locked, first.signed) == (True, True, True)
        assert first.complete_forms == ("patients",)
        second = listed[PATIENTS[1]["patient_id"]]
        assert (second.enrolled, second.locked, second.signed) == (False, True, False)
        assert second.complete_forms == ()
        page = list_patients(c, site="site-a", limit=1, offset=1)
        assert [p.patient_id for p in page] == sorted(
            p.patient_id for p in listed.values() if p.site == "site-a"
        )[1:2]
        assert list_patients(c, site="site-a", limit=5, offset=10) == []
        # the page's window total is the count of the whole (site's) list, on or past the end
        for site in (None, "site-a", "site-b", "site-c"):
            expected = count_patients(c, site=site)
            assert expected == len([p for p in listed.values() if site in (None, p.site)])
            for offset in (0, 1, 10):
                shown = patient_page(c, site=site, limit=1, offset=offset)
                assert shown.total == expected, (site, offset)
                assert len(shown.patients) == (1 if offset < expected else 0)
