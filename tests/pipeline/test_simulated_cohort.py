"""Acceptance on a simulated cohort (``petdx.simulate.simulate_cohort``, small images):
its CSVs import, the screening log reproduces the simulator's enrolment decisions reason by
reason, and a de-identified ingest of its DICOM with planted identifiers leaks none of them
while every SUV factor stays identical. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.data_dictionary import CRITERIA
from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import InputValidationError
from petdx.simulate import simulate_cohort
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.eligibility import screening_log
from petdx.study.importing import import_csv
from petdx.study.records import Author
from petdx.suv import compute_suv
from tests.study.cohort import write_csv
from tests.study.planted import HOSPITAL_ID, all_files, plant_identifiers, scan_for_needles

# One worker simulates the module's cohort (split across both, each simulated it).
pytestmark = pytest.mark.xdist_group("pipeline_simulated_cohort")

ME = Author("coordinator")
IMPORT_ORDER = (
    "patients",
    "screening",
    "exposures",
    "scans",
    "lesion_registry",
    "pathology",
    "reference_standard",
    "reads",
    "follow_up",
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 enrolled patients (13 screened; every criterion fails at least once), small images."""
    out = tmp_path_factory.mktemp("cohort") / "sim"
    simulate_cohort(out, n_patients=10, seed=20260, small=True, workers=1)
    return out


def _import_all(database: StudyDatabase, cohort: Path) -> None:
    for table in IMPORT_ORDER:
        import_csv(database, table, cohort / f"{table}.csv", author=ME)


def _truth(cohort: Path) -> dict[str, tuple[bool, tuple[str, ...], tuple[str, ...]]]:
    with (cohort / "enrolment_truth.csv").open() as handle:
        return {
            row["patient_id"]: (
                row["enrolled"] == "true",
                tuple(c for c in row["failed_criteria"].split(";") if c),
                tuple(c for c in row["unknown_criteria"].split(";") if c),
            )
            for row in csv.DictReader(handle)
        }


@pytest.mark.slow
def test_screening_log_reproduces_the_simulators_enrolment(
    cohort: Path, database: StudyDatabase
) -> None:
    _import_all(database, cohort)
    with database.engine.connect() as connection:
        decisions = screening_log(connection)
    ours = {d.patient_id: (d.eligible, d.failed, d.unknown) for d in decisions}
    truth = _truth(cohort)
    assert ours == truth
    not_passed = {c for _, failed, unknown in truth.values() for c in failed + unknown}
    assert not_passed == {c.id for c in CRITERIA}  # every rule decided a patient's exclusion
    assert any(unknown for _, _, unknown in truth.values())
    assert sum(enrolled for enrolled, _, _ in truth.values()) == 10


def test_truth_tables_are_refused(cohort: Path, database: StudyDatabase) -> None:
    for table in ("lesions", "lesion_uptake", "enrolment_truth"):
        with pytest.raises(InputValidationError, match="simulator ground truth"):
            import_csv(database, table, cohort / f"{table}.csv", author=ME)


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_deidentified_ingest_leaks_no_planted_identifier_and_keeps_suv(
    cohort: Path, study: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _import_all(database, cohort)
    with (cohort / "scans.csv").open() as handle:
        patient = next(csv.DictReader(handle))["patient_id"]
    identity = [{"patient_id": patient, "hospital_id": HOSPITAL_ID}]
    import_csv(database, "patient_identity", write_csv(tmp_path / "id.csv", identity), author=ME)
    source = tmp_path / "hospital"
    shutil.copytree(cohort / "dicom" / patient, source)
    for path in sorted(source.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        plant_identifiers(ds, patient_id=HOSPITAL_ID)
        ds.save_as(path)
    assert scan_for_needles(all_files(source))  # planted

    code, out, err = _run("ingest", str(study.root), str(source), "--user", "tech")
    assert code == 0, err
    ingested = json.loads(out)["series"]
    assert len(ingested) == 4  # PT and CT at 60 and 120 min
    assert {(s["modality"], s["time_point_min"]) for s in ingested} == {
        ("PT", 60),
        ("PT", 120),
        ("CT", 60),
        ("CT", 120),
    }
    console = [out, err]
    code, out, err = _run("export", str(study.root))
    assert code == 0, err
    console += [out, err]
    code, out, err = _run("audit", "log", str(study.root), "--patient", patient)
    console += [out, err]
    (tmp_path / "console.txt").write_text("\n".join(console))
    scanned = all_files(study.root / "images", study.root / "export", study.root / "logs")
    assert scan_for_needles([*scanned, tmp_path / "console.txt"]) == []

    originals = {
        e.first_header.AcquisitionTime: e for e in index_dicom_folder(source).of_kind(SeriesKind.PT)
    }
    stored = index_dicom_folder(study.images).of_kind(SeriesKind.PT)
    assert len(stored) == len(originals) == 2
    for entry in stored:
        original = originals[entry.first_header.AcquisitionTime]
        np.testing.assert_array_equal(
            compute_suv(read_series_volume(entry)).factors,
            compute_suv(read_series_volume(original)).factors,
        )
