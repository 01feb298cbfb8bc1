"""Issue 20 acceptance (Build 2): identifiers planted in every text attribute of the DICOM
dictionary that a PET/CT file can carry, and in folder and file names, are found nowhere in
what petdx writes: images, database, logs, run state, results, report and both exports.

The cohort is simulated (3 patients, small images), every file rewritten with the planted
values, and the study run through the command line as a site would: import, ingest (with a
refused series and an unreadable file, so the log has problems to name), run, export."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pydicom
import pytest
from typer.testing import CliRunner

from petdx.cli.app import app
from petdx.dicom import SeriesKind, deidentify_uid, index_dicom_folder
from petdx.dicom.deidentify import KEPT_TEXT
from petdx.pipeline.demo import new_demo_study
from petdx.simulate import simulate_cohort
from petdx.study.database import open_database
from petdx.study.records import Author
from tests.study.planted import (
    PLANT_PREFIX,
    all_files,
    plant_every_text_attribute,
    scan_for_planted,
    text_attributes,
)

pytestmark = [pytest.mark.slow, pytest.mark.cohort]

AUTHOR = Author("test", "PHI byte scan")
#: Kept on purpose (the documented keep-list), or the pseudonym the study links by.
NOT_PLANTED = (*KEPT_TEXT, "PatientID")
FOLDER = f"{PLANT_PREFIX}DIR_DOE_JANE_HOSP-7788991"
FILE = f"{PLANT_PREFIX}FILE_DOE_JANE"


#: Files after the first of a series carry one in this many of the planted attributes (each
#: attribute in about 1,400 / 8 files): writing, ingesting and copying all of them into all
#: 1,442 files of the cohort was about 60 s of this test.
SHARES = 8


def _plant_cohort(dicom: Path, out: Path) -> dict[bytes, str]:
    """Every file of ``dicom`` rewritten under ``out`` with planted values (the first file of
    each series all of them, the others a share, SHARES), in folders and files whose names
    hold the planted prefix; one series given an unknown PatientID (refused) and one file
    that is not readable DICOM."""
    attributes = text_attributes(exclude=NOT_PLANTED)
    needles: dict[bytes, str] = {}
    refused_series = None
    series_seen: set[str] = set()
    for n, path in enumerate(sorted(p for p in dicom.rglob("*") if p.is_file())):
        ds = pydicom.dcmread(path)
        first_of_series = ds.SeriesInstanceUID not in series_seen
        series_seen.add(ds.SeriesInstanceUID)
        needles = plant_every_text_attribute(
            ds,
            attributes,
            nested="RadiopharmaceuticalInformationSequence",
            share=(0, 1) if first_of_series else (n % SHARES, SHARES),
        )
        ds.file_meta.ImplementationVersionName = f"{PLANT_PREFIX}META"
        ds.file_meta.SourceApplicationEntityTitle = f"{PLANT_PREFIX}AE"
        if refused_series is None and ds.Modality == "CT":
            refused_series = ds.SeriesInstanceUID
        if ds.SeriesInstanceUID == refused_series:
            ds.PatientID = f"{PLANT_PREFIX}HOSP"  # in no identity table: refused
        parts = [f"{FOLDER}_{p}" for p in path.relative_to(dicom).parent.parts]
        target = out.joinpath(*parts, f"{FILE}_{n:05d}.dcm")
        target.parent.mkdir(parents=True, exist_ok=True)
        ds.save_as(target, enforce_file_format=True)
    (out / f"{FILE}_broken.dcm").write_bytes(bytes(128) + b"DICM" + b"\x02\x00broken")
    return needles


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout + result.stderr


def test_no_planted_identifier_is_in_anything_petdx_writes(tmp_path: Path) -> None:
    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, n_patients=3, seed=3, small=True, workers=1)
    planted = tmp_path / "planted"
    needles = _plant_cohort(cohort / "dicom", planted)
    assert len(needles) > 700
    sources = all_files(planted)
    seen = {line.rsplit(": ", 1)[1] for line in scan_for_planted(sources, needles)}
    assert set(needles.values()) <= seen  # the scan sees every planted attribute in the input

    study = new_demo_study(tmp_path / "study", cohort, author=AUTHOR)
    code, console = _run("ingest", study.root, planted, "--user", "tech")
    assert code == 2, console  # the refused series and the broken file
    assert f"{FILE}_broken.dcm" in console  # the operator is told where
    code, console = _run("run", study.root, "--workers", "1")
    assert code == 0, console
    assert (study.root / "report" / "report.pdf").exists()
    code, console = _run("export", study.root)
    assert code == 0, console
    code, console = _run("export", study.root, "--deidentify")
    assert code == 0, console

    written = all_files(study.root)
    assert any(p.suffix == ".json" for p in (study.root / "logs").iterdir())
    assert any(p.suffix == ".dcm" for p in written)
    assert any(p.name == "scans.parquet" for p in written)
    assert scan_for_planted(written, needles) == []
    assert [p for p in written if PLANT_PREFIX in str(p.relative_to(study.root))] == []

    # the de-identified scans table names the stored images, not the originals
    stored = {e.series_instance_uid for e in index_dicom_folder(study.images).series.values()}
    originals = {
        row[column]
        for row in csv.DictReader((cohort / "scans.csv").open(encoding="utf-8"))
        for column in ("pet_series_uid", "ct_series_uid")
        if row[column]
    }
    exported = list(
        csv.DictReader((study.root / "export-deidentified" / "scans.csv").open(encoding="utf-8"))
    )
    assert exported
    stored_pet = {
        e.series_instance_uid for e in index_dicom_folder(study.images).of_kind(SeriesKind.PT)
    }
    assert {r["pet_series_uid"] for r in exported} == stored_pet
    database = open_database(study)
    secret = database.secret()
    database.dispose()
    cts = {
        r["ct_series_uid"]
        for r in csv.DictReader((cohort / "scans.csv").open())
        if r["ct_series_uid"]
    }
    assert {r["ct_series_uid"] for r in exported if r["ct_series_uid"]} == {
        deidentify_uid(secret, u) for u in cts
    }
    assert len({r["ct_series_uid"] for r in exported} & stored) == len(cts) - 1  # one refused
    assert all(r["dicom_folder"].startswith("images/") for r in exported)
    deid_bytes = b"".join(p.read_bytes() for p in all_files(study.root / "export-deidentified"))
    assert [u for u in originals if u.encode() in deid_bytes] == []
    log = json.loads(next((study.root / "logs").glob("ingest-*.json")).read_text())
    assert [u for u in originals if u in json.dumps(log)] == []
