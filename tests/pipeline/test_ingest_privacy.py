"""What ingest writes to disk names series by de-identified UID and pseudonym only (issue
20 Build 2): the log of a run with refused series and unreadable files holds no source
path, file name or original UID; the console still shows the operator the source."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.dicom import deidentify_uid
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.importing import import_csv
from petdx.study.records import Author
from tests.factories import pet_ct_visit, pet_series, save_series
from tests.study.cohort import PATIENTS, write_csv

ME = Author("tech")
#: A source folder and file named the way hospital exports are.
FOLDER = "DOE_JANE_HOSP-7788991"
FILE = "DOE_JANE_0001.dcm"


def _visit(folder: Path, patient_id: str) -> list[str]:
    """One PET and its CT under ``folder``; every UID of their files."""
    pet, ct = pet_ct_visit()
    for ds in pet + ct:
        ds.PatientID = patient_id
    save_series(pet, folder / "PT", prefix="DOE_JANE_pet")
    save_series(ct, folder / "CT", prefix="DOE_JANE_ct")
    uids = set()
    for ds in pet + ct:
        uids |= {ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.SOPInstanceUID}
        uids.add(ds.FrameOfReferenceUID)
    return sorted(uids)


@pytest.fixture
def enrolled(study: StudyFolder, database: StudyDatabase, tmp_path: Path) -> StudyFolder:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    database.dispose()
    return study


def _ingest(study: StudyFolder, source: Path) -> tuple[int, str, dict]:
    before = set(study.logs.glob("ingest-*.json"))
    result = CliRunner().invoke(app, ["ingest", str(study.root), str(source), "--user", "tech"])
    (log,) = set(study.logs.glob("ingest-*.json")) - before
    return result.exit_code, result.stderr, json.loads(log.read_text())


def test_the_ingest_log_names_refused_series_and_files_without_paths_or_original_uids(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    source = tmp_path / "dicom" / FOLDER
    refused = _visit(source / "unknown", "NOT-ENROLLED-77")  # refused: not in the study
    stored = _visit(source / "known", "SIM-0002")
    (source / "known" / FILE).write_bytes(bytes(128) + b"DICM" + b"\x02\x00garbage")
    code, console, log = _ingest(enrolled, tmp_path / "dicom")
    assert code == 2
    assert len(log["problems"]) == 3  # two refused series, one unreadable file
    # the operator who typed the path sees where each problem is
    assert FOLDER in console
    assert FILE in console
    text = json.dumps(log)
    assert "DOE_JANE" not in text
    assert str(tmp_path) not in text
    assert [u for u in refused + stored if u in text] == []
    handles = [p["handle"] for p in log["problems"]]
    assert all(h.startswith(("PT series ", "CT series ", "file ")) for h in handles), handles
    assert all(isinstance(p["position"], int) for p in log["problems"])
    # stored series are named by pseudonym and de-identified UID
    assert {s["patient_id"] for s in log["series"]} == {"SIM-0002"}
    assert all(s["series_uid"].startswith("2.25.") for s in log["series"])
    # a second run names the same refused series by the same handles
    _, _, again = _ingest(enrolled, tmp_path / "dicom")
    assert sorted(p["handle"] for p in again["problems"]) == sorted(handles)


def test_a_refused_series_of_a_known_patient_is_named_by_its_deidentified_uid(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    pet = pet_series(3)
    for ds in pet:
        ds.PatientID = "SIM-0002"
        ds.BurnedInAnnotation = "YES"  # refused, and its message names the original UID
    save_series(pet, tmp_path / "dicom" / FOLDER, prefix="DOE_JANE")
    code, console, log = _ingest(enrolled, tmp_path / "dicom")
    assert code == 2
    assert pet[0].SeriesInstanceUID in console
    (problem,) = log["problems"]
    secret = database.secret()
    assert problem["handle"] == (
        f"SIM-0002 PT series {deidentify_uid(secret, pet[0].SeriesInstanceUID)}"
    )
    text = json.dumps(log)
    assert pet[0].SeriesInstanceUID not in text
    assert "DOE_JANE" not in text
    assert "BurnedInAnnotation (0028,0301) is YES" in problem["message"]
    # and it leaves nothing behind in images/ (issue 20 Build 3)
    assert [p for p in enrolled.images.rglob("*") if p.is_file()] == []


def _lock(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``folder`` cannot be listed (as without read permission; the tests may run as root,
    who reads every folder, so the listing itself fails)."""
    real = os.scandir

    def scandir(path: str | os.PathLike[str] = ".") -> os._ScandirIterator:  # type: ignore[type-arg]
        if Path(path) == folder:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def test_an_unreadable_subfolder_is_a_problem_the_summary_counts(
    enrolled: StudyFolder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _visit(tmp_path / "dicom" / "a", "SIM-0002")
    locked = tmp_path / "dicom" / FOLDER
    _visit(locked, "SIM-0003")
    _lock(monkeypatch, locked)
    code, console, log = _ingest(enrolled, tmp_path / "dicom")
    assert code == 2
    assert "2 series ingested" in console
    assert "1 problem(s)" in console
    assert f"{FOLDER}: folder cannot be read (Permission denied)" in console
    assert "DOE_JANE" not in json.dumps(log)
    assert log["problems"][0]["handle"].startswith("folder ")


def test_suv_counts_an_unreadable_subfolder_as_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    save_series(pet_series(3), tmp_path / "dicom" / "a")
    locked = tmp_path / "dicom" / FOLDER
    save_series(pet_series(3), locked)
    _lock(monkeypatch, locked)
    result = CliRunner().invoke(app, ["suv", str(tmp_path / "dicom")])
    assert result.exit_code == 2
    assert "1 PET series" in result.stderr
    assert "1 problem(s)" in result.stderr
    assert f"{FOLDER}: folder cannot be read (Permission denied)" in result.stderr
