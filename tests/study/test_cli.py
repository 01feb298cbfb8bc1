"""The study commands end to end through the CLI: init, import, ingest, export, audit.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.study.config import open_study
from petdx.study.database import open_database
from petdx.study.records import Author, insert_records
from tests.factories import ct_series, pet_series, save_series
from tests.study.cohort import EXPOSURES, PATIENTS, SCREENING, copy_rows, write_csv
from tests.study.planted import HOSPITAL_ID, all_files, plant_identifiers, scan_for_needles


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _init(tmp_path: Path, db_url: str) -> Path:
    root = tmp_path / "study"
    code, out, err = _run("init", str(root), "--db", db_url, "--time-point", "60")
    assert code == 0, err
    assert json.loads(out)["config"]["time_points_min"] == [60]
    return root


def test_init_import_and_refusal(tmp_path: Path, db_url: str) -> None:
    root = _init(tmp_path, db_url)
    assert (root / "study.toml").exists()
    assert (root / "images").is_dir()
    code, out, _ = _run(
        "import", str(root), "patients", str(write_csv(tmp_path / "p.csv", PATIENTS))
    )
    assert code == 0
    assert json.loads(out)["inserted"] == 3
    database = open_database(open_study(root))
    before = database.content_hash()
    bad = copy_rows(SCREENING)
    bad[0]["consent_signed"] = "maybe"
    bad[2]["planned_scan_date"] = "16/05/2025"
    code, out, err = _run("import", str(root), "screening", str(write_csv(tmp_path / "s.csv", bad)))
    assert code == 2
    assert out == ""
    assert "row 2, field consent_signed = 'maybe': expected one of yes, no, unknown" in err
    assert "row 4, field planned_scan_date = '16/05/2025': expected a date YYYY-MM-DD" in err
    assert database.content_hash() == before
    code, _, err = _run("import", str(root), "lesions", str(tmp_path / "s.csv"))
    assert code == 2
    assert "simulator ground truth" in err
    database.dispose()


def test_init_refuses_bad_options(tmp_path: Path) -> None:
    code, _, err = _run("init", str(tmp_path / "s"), "--tracer", "tc99m-mdp")
    assert code == 2
    assert "tc99m-mdp" in err
    code, _, err = _run("init", str(tmp_path / "s2"), "--visual-score-at-least", "7")
    assert code == 2
    assert "visual_score_at_least is 7" in err
    code, _, err = _run("import", str(tmp_path / "nowhere"), "patients", "x.csv")
    assert code == 2
    assert "petdx init" in err


def test_ingest_export_audit_without_identifiers(tmp_path: Path, db_url: str) -> None:
    root = _init(tmp_path, db_url)
    for name, rows in (("patients", PATIENTS), ("screening", SCREENING), ("exposures", EXPOSURES)):
        assert (
            _run("import", str(root), name, str(write_csv(tmp_path / f"{name}.csv", rows)))[0] == 0
        )
    identity = write_csv(
        tmp_path / "id.csv", [{"patient_id": "SIM-0001", "hospital_id": HOSPITAL_ID}]
    )
    assert _run("import", str(root), "patient_identity", str(identity))[0] == 0
    pet, ct = pet_series(3), ct_series(3)
    for ds in ct:
        ds.StudyInstanceUID, ds.FrameOfReferenceUID = (
            pet[0].StudyInstanceUID,
            pet[0].FrameOfReferenceUID,
        )
    for ds in pet + ct:
        plant_identifiers(ds)
    save_series(pet, tmp_path / "dicom" / "PT")
    save_series(ct, tmp_path / "dicom" / "CT")
    code, out, err = _run("ingest", str(root), str(tmp_path / "dicom"), "--user", "tech")
    assert code == 0, err
    assert len(json.loads(out)["series"]) == 2
    outputs = [out, err]
    code, out, err = _run("export", str(root))
    assert code == 0, err
    outputs += [out, err]
    # Data leaving the site: the real birth dates are nowhere in a de-identified export.
    code, out, err = _run("export", str(root), "--deidentify", "--out", str(tmp_path / "deid"))
    assert code == 0, err
    assert json.loads(out)["deidentified"] is True
    with (root / "export" / "patients.csv").open(newline="", encoding="utf-8") as handle:
        births = {row["patient_id"]: row["birth_date"] for row in csv.DictReader(handle)}
    with (tmp_path / "deid" / "patients.csv").open(newline="", encoding="utf-8") as handle:
        shifted = {row["patient_id"]: row["birth_date"] for row in csv.DictReader(handle)}
    assert births
    assert shifted.keys() == births.keys()
    assert not [p for p in births if shifted[p] == births[p]]  # every patient's is moved
    deid_text = b"".join(p.read_bytes() for p in all_files(tmp_path / "deid")).decode("latin-1")
    # A real birth date appears nowhere, unless it is by chance another patient's shifted
    # date (offsets of 1 to 10 years: about 1 run in 1,000 for this cohort's dates), which
    # tells nothing of the patient it belongs to.
    coincidences = set(shifted.values())
    assert not [b for b in births.values() if b in deid_text and b not in coincidences]
    code, out, err = _run("audit", "log", str(root), "--patient", "SIM-0001")
    assert code == 0
    assert "insert series" in out
    outputs += [out, err]
    code, out, err = _run("audit", "verify", str(root))
    assert code == 0, err
    assert json.loads(out)["ok"] is True
    (tmp_path / "console.txt").write_text("\n".join(outputs))
    scanned = all_files(root / "images", root / "export", root / "logs") + [
        tmp_path / "console.txt"
    ]
    assert any(p.suffix == ".json" for p in all_files(root / "logs"))
    assert scan_for_needles(scanned) == []

    database = open_database(open_study(root))
    with database.engine.begin() as connection:
        if database.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        connection.execute(text("DELETE FROM audit_log WHERE seq = 5"))
    database.dispose()
    code, out, err = _run("audit", "verify", str(root))
    assert code == 2
    assert "audit row 5: row 5 removed" in err
    assert json.loads(out)["problems"][0]["seq"] == 5


def test_identifiers_that_climb_out_of_the_study_exit_2_and_write_nothing(
    tmp_path: Path, db_url: str
) -> None:
    """The audit's attack (issue 19): ``../../../../tmp/x/PWNED`` as a patient identifier,
    in the patients table and in the DICOM header."""
    root = _init(tmp_path, db_url)
    sentinel = tmp_path / "x"
    sentinel.mkdir()
    climbing = "../../x/PWNED"  # from STUDY/images: tmp_path/x/PWNED
    rows = [dict(PATIENTS[0], patient_id=climbing), *PATIENTS[1:]]
    code, out, err = _run("import", str(root), "patients", str(write_csv(tmp_path / "p.csv", rows)))
    assert code == 2
    assert out == ""
    assert "row 2, field patient_id = '../../x/PWNED': this identifier contains a path" in err
    pet = pet_series(3)
    for ds in pet:
        ds.PatientID = climbing
    save_series(pet, tmp_path / "dicom" / "PT")
    code, out, err = _run("ingest", str(root), str(tmp_path / "dicom"), "--user", "tech")
    assert code == 2
    assert json.loads(out)["series"] == []
    assert "neither in the identity table nor a study pseudonym" in err
    assert list(sentinel.rglob("*")) == []
    # A database written before identifiers were checked holds such a patient: ingest
    # refuses the series by name and still writes nothing outside the study.
    database = open_database(open_study(root))
    with database.begin() as connection:
        insert_records(
            connection,
            "patients",
            [
                {
                    "patient_id": climbing,
                    "sex": "F",
                    "birth_date": date(1960, 3, 15),
                    "screening_date": date(2025, 5, 2),
                }
            ],
            author=Author("legacy"),
        )
    database.dispose()
    code, out, err = _run("ingest", str(root), str(tmp_path / "dicom"), "--user", "tech")
    assert code == 2
    assert json.loads(out)["series"] == []
    assert "not stored: patient_id '../../x/PWNED' contains a path separator" in err
    assert list(sentinel.rglob("*")) == []
