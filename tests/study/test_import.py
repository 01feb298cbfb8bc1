"""``petdx.study.importing``: validation of every row, all-or-nothing, idempotence, edits
with a reason in the audit trail. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.errors import InputValidationError
from petdx.study.audit import audit_history, verify_audit_trail
from petdx.study.database import StudyDatabase
from petdx.study.eligibility import screening_log
from petdx.study.importing import ImportRejected, import_csv
from petdx.study.queries import table_rows
from petdx.study.records import Author, delete_record
from petdx.study.schema import IMPORTABLE
from petdx.study.validation import is_identifier
from tests.study.cohort import EXPOSURES, LESIONS, PATIENTS, SCREENING, copy_rows, write_csv

ME = Author("coordinator")


def _load_base(database: StudyDatabase, folder: Path) -> None:
    import_csv(database, "patients", write_csv(folder / "patients.csv", PATIENTS), author=ME)
    import_csv(database, "screening", write_csv(folder / "screening.csv", SCREENING), author=ME)
    import_csv(database, "exposures", write_csv(folder / "exposures.csv", EXPOSURES), author=ME)


def test_import_then_screening_log(database: StudyDatabase, tmp_path: Path) -> None:
    _load_base(database, tmp_path)
    with database.engine.connect() as connection:
        decisions = {d.patient_id: d for d in screening_log(connection)}
    assert decisions["SIM-0001"].eligible
    assert decisions["SIM-0002"].failed == ("no_recent_major_surgery",)
    assert set(decisions["SIM-0003"].unknown) == {"age_18_or_over", "written_consent"}


def test_the_same_file_twice_changes_nothing(database: StudyDatabase, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "patients.csv", PATIENTS)
    first = import_csv(database, "patients", path, author=ME)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    before = database.content_hash()
    again = import_csv(database, "patients", path, author=ME)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert database.content_hash() == before


def test_an_edit_needs_a_reason_and_is_audited(database: StudyDatabase, tmp_path: Path) -> None:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    rows = copy_rows(PATIENTS)
    rows[1]["weight_kg"] = "79.5"
    changed = write_csv(tmp_path / "p2.csv", rows)
    before = database.content_hash()
    with pytest.raises(ImportRejected, match=r"row 3, field weight_kg = '79.5'.*reason") as info:
        import_csv(database, "patients", changed, author=ME)
    assert [p.row for p in info.value.problems] == [3]
    assert database.content_hash() == before
    result = import_csv(
        database, "patients", changed, author=Author("coordinator", "scale recalibrated")
    )
    assert (result.updated, result.unchanged) == (1, 2)
    with database.engine.connect() as connection:
        history = audit_history(connection, patient_id="SIM-0002")
        assert verify_audit_trail(connection).ok
    edit = history[-1]
    assert (edit.action, edit.old_values, edit.new_values) == (
        "update",
        {"weight_kg": 81.0},
        {"weight_kg": 79.5},
    )
    assert edit.reason == "scale recalibrated"
    assert edit.actor == "coordinator"


def test_a_bad_file_lists_every_bad_row_and_changes_nothing(
    database: StudyDatabase, tmp_path: Path
) -> None:
    _load_base(database, tmp_path)
    before = database.content_hash()
    rows = copy_rows(PATIENTS) + [dict(PATIENTS[0], patient_id="SIM-0004")]
    rows[0]["weight_kg"] = "heavy"  # wrong type (row 2)
    rows[1]["sex"] = "X"  # unknown code (row 3)
    rows[2]["screening_date"] = ""  # missing required field (row 4)
    rows.append(dict(PATIENTS[0]))  # duplicate of row 2 (row 6)
    rows[3]["screening_date"] = "1950-01-01"  # before birth 1960-03-15 (row 5)
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportRejected) as info:
        import_csv(database, "patients", path, author=Author("c", "fix"))
    found = {(p.row, p.field) for p in info.value.problems}
    assert found == {
        (2, "weight_kg"),
        (3, "sex"),
        (4, "screening_date"),
        (5, "birth_date,screening_date"),
        (6, "patient_id"),
    }
    message = str(info.value)
    assert "row 2, field weight_kg = 'heavy': expected a number in kg" in message
    assert "row 3, field sex = 'X': expected one of M, F, O" in message
    assert "row 4, field screening_date = '': required value missing" in message
    assert "row 6, field patient_id = 'patient_id=SIM-0001': duplicate key: row 2" in message
    assert database.content_hash() == before


def test_dates_before_birth_and_consent_after_scan(database: StudyDatabase, tmp_path: Path) -> None:
    _load_base(database, tmp_path)
    before = database.content_hash()
    rows = copy_rows(EXPOSURES)
    rows[0]["exposure_date"] = "1959-12-31"  # SIM-0001 born 1960-03-15
    with pytest.raises(
        ImportRejected, match=r"row 2, field exposure_date .*before the patient's birth"
    ):
        import_csv(database, "exposures", write_csv(tmp_path / "e.csv", rows), author=ME)
    screening = copy_rows(SCREENING)
    screening[0]["consent_date"] = "2025-05-13"  # after the planned scan 2025-05-12
    with pytest.raises(ImportRejected, match=r"row 2, field consent_date,planned_scan_date"):
        import_csv(
            database, "screening", write_csv(tmp_path / "s.csv", screening), author=Author("c", "x")
        )
    assert database.content_hash() == before


def test_unknown_patient_and_lesion(database: StudyDatabase, tmp_path: Path) -> None:
    _load_base(database, tmp_path)
    rows = copy_rows(LESIONS)
    rows[1]["patient_id"] = "SIM-0099"
    with pytest.raises(
        ImportRejected, match=r"row 3, field patient_id = 'SIM-0099': patient not in"
    ):
        import_csv(database, "lesion_registry", write_csv(tmp_path / "l.csv", rows), author=ME)
    import_csv(database, "lesion_registry", write_csv(tmp_path / "l.csv", LESIONS), author=ME)
    read = {
        "reader_id": "R1",
        "patient_id": "SIM-0002",
        "lesion_id": "SIM-0001-L1",
        "tracer": "ga68-dota-blp",
        "time_point_min": "60",
        "score": "4",
    }
    with pytest.raises(ImportRejected, match="belongs to patient SIM-0001, not SIM-0002"):
        import_csv(database, "reads", write_csv(tmp_path / "r.csv", [read]), author=ME)
    patient_read = dict(read, patient_id="SIM-0001", lesion_id="")
    lesion_read = dict(read, patient_id="SIM-0001")
    path = write_csv(tmp_path / "r.csv", [patient_read, lesion_read])
    assert import_csv(database, "reads", path, author=ME).inserted == 2
    assert import_csv(database, "reads", path, author=ME).unchanged == 2


def test_truth_tables_and_unknown_kinds_are_refused(
    database: StudyDatabase, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "x.csv", PATIENTS)
    with pytest.raises(InputValidationError, match="simulator ground truth"):
        import_csv(database, "enrolment_truth", path, author=ME)
    with pytest.raises(InputValidationError, match="not an importable table"):
        import_csv(database, "nonsense", path, author=ME)
    with pytest.raises(InputValidationError, match="no such file"):
        import_csv(database, "patients", tmp_path / "missing.csv", author=ME)


def test_header_problems(database: StudyDatabase, tmp_path: Path) -> None:
    rows = [{k: v for k, v in PATIENTS[0].items() if k != "sex"} | {"colour": "blue"}]
    with pytest.raises(ImportRejected) as info:
        import_csv(database, "patients", write_csv(tmp_path / "h.csv", rows), author=ME)
    messages = [str(p) for p in info.value.problems]
    assert any("field colour: unknown column" in m for m in messages)
    assert any("field sex: required column missing" in m for m in messages)


def test_identity_values_never_reach_the_audit_trail(
    database: StudyDatabase, tmp_path: Path
) -> None:
    _load_base(database, tmp_path)
    rows = [{"patient_id": "SIM-0001", "hospital_id": "MRN-774411", "issuer": "HOSP"}]
    import_csv(database, "patient_identity", write_csv(tmp_path / "i.csv", rows), author=ME)
    with database.engine.connect() as connection:
        text = repr(audit_history(connection))
    assert "MRN-774411" not in text
    assert "redacted" in text


def test_delete_keeps_the_old_values_in_the_trail(database: StudyDatabase, tmp_path: Path) -> None:
    _load_base(database, tmp_path)
    with (
        pytest.raises(InputValidationError, match="deleting a record needs a reason"),
        database.begin() as connection,
    ):
        delete_record(connection, "exposures", {"exposure_id": "EXP-1"}, author=ME)
    with database.begin() as connection:
        delete_record(
            connection, "exposures", {"exposure_id": "EXP-1"}, author=Author("c", "duplicate")
        )
    with database.engine.connect() as connection:
        last = audit_history(connection)[-1]
        assert verify_audit_trail(connection).ok
    assert last.action == "delete"
    assert last.old_values is not None
    assert last.old_values["ct_dlp_mgy_cm"] == 500.0


#: Identifiers that would climb out of the study folder, or cannot name a file (issue 19).
UNSAFE_IDENTIFIERS = [
    "../../../../tmp/x/PWNED",
    "..",
    "/etc/passwd",
    "..\\..\\PWNED",
    "SIM\x000001",
    "S" * 65,
]


def _identifier_fields() -> list[tuple[str, str]]:
    return [
        (kind, f.name)
        for kind, table in IMPORTABLE.items()
        for f in table.fields
        if is_identifier(f)
    ]


def test_the_identifier_fields_are_the_ids_but_the_hospital_one() -> None:
    names = {name for _, name in _identifier_fields()}
    assert names == {
        "patient_id",
        "exposure_id",
        "scan_id",
        "lesion_id",
        "sample_id",
        "reader_id",
        "event_id",
    }
    assert ("patient_identity", "patient_id") in _identifier_fields()


@pytest.mark.parametrize("value", UNSAFE_IDENTIFIERS)
def test_every_identifier_field_refuses_names_that_cannot_be_a_folder(
    database: StudyDatabase, tmp_path: Path, value: str
) -> None:
    _load_base(database, tmp_path)
    before = database.content_hash()
    for kind, name in _identifier_fields():
        path = tmp_path / f"{kind}-{name}.csv"
        path.write_text(f'{name}\n"{value}"\n', encoding="utf-8")
        with pytest.raises(ImportRejected) as caught:
            import_csv(database, kind, path, author=ME)
        refused = [p for p in caught.value.problems if p.row == 2 and p.field == name]
        assert len(refused) == 1, (kind, name)
        assert refused[0].expected.startswith("this identifier "), (kind, name)
        assert "identifiers name the study's files and folders" in str(caught.value)
        assert len(refused[0].value or "") <= 60
    assert database.content_hash() == before


def test_a_patients_table_with_a_climbing_patient_id_is_refused_by_row_and_field(
    database: StudyDatabase, tmp_path: Path
) -> None:
    rows = copy_rows(PATIENTS)
    rows[1]["patient_id"] = "../../../../tmp/x/PWNED"
    before = database.content_hash()
    with pytest.raises(
        ImportRejected,
        match=r"row 3, field patient_id = '\.\./\.\./\.\./\.\./tmp/x/PWNED': this identifier "
        r"contains a path separator",
    ):
        import_csv(database, "patients", write_csv(tmp_path / "p.csv", rows), author=ME)
    assert database.content_hash() == before


def test_a_spreadsheet_quote_before_a_formula_is_taken_off_text(
    database: StudyDatabase, tmp_path: Path
) -> None:
    _load_base(database, tmp_path)
    exposures = [
        dict(EXPOSURES[0], exposure_id="EXP-2", description="'=cmd|' /C calc'!A0"),
        dict(EXPOSURES[0], exposure_id="EXP-3", description="'quoted, no formula"),
    ]
    import_csv(database, "exposures", write_csv(tmp_path / "e.csv", exposures), author=ME)
    with database.engine.connect() as connection:
        stored = table_rows(connection, "exposures")
    assert {r.as_dict()["exposure_id"]: r.as_dict()["description"] for r in stored} == {
        "EXP-1": "staging CT",
        "EXP-2": "=cmd|' /C calc'!A0",
        "EXP-3": "'quoted, no formula",
    }
