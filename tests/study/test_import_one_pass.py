"""``petdx import`` lists every problem of a file in one pass, says why an impossible date
is wrong and when a number looks typed in another unit, and checks a histopathology
reference standard against the pathology table (issue 21 Build 4). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from petdx.data_dictionary import TABLES
from petdx.study.database import StudyDatabase
from petdx.study.importing import ImportRejected, import_csv
from petdx.study.records import Author
from petdx.study.validation import parse_cell
from tests.study.cohort import LESIONS, PATIENTS, SCREENING, copy_rows, write_csv

ME = Author("coordinator")


def _problems(database: StudyDatabase, kind: str, path: Path) -> list[tuple[int, str | None]]:
    before = database.content_hash()
    with pytest.raises(ImportRejected) as info:
        import_csv(database, kind, path, author=ME)
    assert database.content_hash() == before  # nothing stored
    return [(p.row, p.field) for p in info.value.problems]


def test_a_bad_cell_does_not_hide_the_database_checks_of_its_row(
    database: StudyDatabase, tmp_path: Path
) -> None:
    """Before, a row with a bad date and an unknown patient reported only the date; once
    the date was fixed, the unknown patient appeared (problems in rounds)."""
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    rows = copy_rows(SCREENING)
    rows[0]["patient_id"] = "SIM-0099"
    rows[0]["consent_date"] = "2026-13-01"
    found = _problems(database, "screening", write_csv(tmp_path / "s.csv", rows))
    assert (2, "patient_id") in found
    assert (2, "consent_date") in found


def test_a_missing_reason_is_listed_with_the_other_problems(
    database: StudyDatabase, tmp_path: Path
) -> None:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    rows = copy_rows(PATIENTS)
    rows[0]["weight_kg"] = "71.5"  # an edit without a reason
    rows[1]["sex"] = "X"  # a bad code
    found = _problems(database, "patients", write_csv(tmp_path / "p2.csv", rows))
    assert (2, "weight_kg") in found
    assert (3, "sex") in found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1970-02-30", "February 1970 has 28 days"),
        ("2024-02-30", "February 2024 has 29 days"),
        ("2026-04-31", "April 2026 has 30 days"),
        ("2026-13-01", "month 13 does not exist"),
        ("2026-00-10", "month 0 does not exist"),
    ],
)
def test_an_impossible_date_is_told_why(text: str, message: str) -> None:
    field = TABLES["patients"].field("birth_date")
    value, problem = parse_cell(field, text)
    assert value is None
    assert problem is not None
    assert message in problem
    datetime_field = TABLES["scans"].field("scan_datetime")
    assert message in (parse_cell(datetime_field, f"{text}T10:00:00")[1] or "")


@pytest.mark.parametrize(
    ("table", "name", "text", "hint"),
    [
        ("patients", "height_m", "165", "165 looks like cm"),
        ("patients", "height_m", "1650", "1650 looks like mm"),
        ("patients", "weight_kg", "72000", "72000 looks like g"),
        ("scans", "administered_activity_mbq", "185000000", "185000000 looks like Bq"),
    ],
)
def test_a_unit_slip_gets_a_hint(table: str, name: str, text: str, hint: str) -> None:
    value, problem = parse_cell(TABLES[table].field(name), text)
    assert value is None
    assert problem is not None
    assert "above the maximum" in problem
    assert hint in problem


def test_an_out_of_range_value_without_a_plausible_slip_gets_no_hint() -> None:
    _, problem = parse_cell(TABLES["patients"].field("height_m"), "0.5")
    assert problem is not None
    assert "looks like" not in problem


def _pathology(lesion: str, patient: str, histology: str) -> dict[str, str]:
    return {
        "sample_id": f"{lesion}-S1",
        "patient_id": patient,
        "lesion_id": lesion,
        "sample_date": "2026-05-02",
        "method": "biopsy",
        "histology": histology,
    }


def _standard(lesion: str, patient: str, standard: str, outcome: str) -> dict[str, str]:
    return {
        "lesion_id": lesion,
        "patient_id": patient,
        "standard": standard,
        "outcome": outcome,
        "assessment_date": "2026-05-10",
    }


def test_a_histopathology_standard_must_say_what_the_samples_say(
    database: StudyDatabase, tmp_path: Path
) -> None:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    import_csv(database, "lesion_registry", write_csv(tmp_path / "l.csv", LESIONS), author=ME)
    first, second = LESIONS[0], LESIONS[1]
    samples = [_pathology(first["lesion_id"], first["patient_id"], "malignant")]
    import_csv(database, "pathology", write_csv(tmp_path / "path.csv", samples), author=ME)
    rows = [
        _standard(first["lesion_id"], first["patient_id"], "histopathology", "benign"),
        _standard(second["lesion_id"], second["patient_id"], "histopathology", "malignant"),
    ]
    with pytest.raises(ImportRejected) as info:
        import_csv(database, "reference_standard", write_csv(tmp_path / "r.csv", rows), author=ME)
    messages = {(p.row, p.field): p.expected for p in info.value.problems}
    assert "is malignant" in messages[(2, "outcome")]
    assert "no diagnostic sample" in messages[(3, "standard")]
    good = [
        _standard(first["lesion_id"], first["patient_id"], "histopathology", "malignant"),
        _standard(second["lesion_id"], second["patient_id"], "follow_up_composite", "benign"),
    ]
    path = write_csv(tmp_path / "r2.csv", good)
    assert import_csv(database, "reference_standard", path, author=ME).inserted == 2
