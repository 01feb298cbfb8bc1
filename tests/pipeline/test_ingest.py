"""``petdx.pipeline.ingest``: linking, de-identified copies, idempotence, kill -9 safety.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from sqlalchemy import func, select, text

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.deidentified_file import DeidentifiedFileEncoder
from petdx.errors import InputValidationError
from petdx.pipeline import IngestResult, ingest
from petdx.pipeline.executors import fork_available
from petdx.study.audit import verify_audit_trail
from petdx.study.config import StudyFolder
from petdx.study.database import StudyDatabase
from petdx.study.importing import import_csv
from petdx.study.records import Author, insert_records
from petdx.study.schema import instances, series, visits
from petdx.suv import compute_suv
from tests.executors import CountingExecutor
from tests.factories import ct_series, pet_series, save_series
from tests.study.cohort import PATIENTS, write_csv
from tests.study.planted import HOSPITAL_ID, all_files, plant_identifiers, scan_for_needles

ME = Author("tech")
#: The module (``petdx.pipeline.ingest`` as an attribute is the function).
INGEST_MODULE = importlib.import_module("petdx.pipeline.ingest")
#: The copy step of ingest (worker processes, encoder).
COPY_MODULE = importlib.import_module("petdx.pipeline.series_copy")
#: For driver processes: this checkout's petdx and tests (not another installed petdx).
_THIS_CHECKOUT = os.pathsep.join(str(Path(__file__).resolve().parents[2] / d) for d in ("src", ""))


def _write_visit(folder: Path, patient_id: str, *, n_slices: int = 3, plant: bool = False) -> None:
    """One PET and its CT (same study and frame of reference) under ``folder``."""
    pet = pet_series(n_slices)
    ct = ct_series(n_slices)
    study_uid, frame = pet[0].StudyInstanceUID, pet[0].FrameOfReferenceUID
    for ds in ct:
        ds.StudyInstanceUID, ds.FrameOfReferenceUID = study_uid, frame
    for ds in pet + ct:
        if plant:
            plant_identifiers(ds, patient_id=patient_id)
        else:
            ds.PatientID = patient_id
    save_series(pet, folder / "PT")
    save_series(ct, folder / "CT")


@pytest.fixture
def enrolled(study: StudyFolder, database: StudyDatabase, tmp_path: Path) -> StudyFolder:
    import_csv(database, "patients", write_csv(tmp_path / "p.csv", PATIENTS), author=ME)
    identity = [{"patient_id": "SIM-0001", "hospital_id": HOSPITAL_ID, "issuer": ""}]
    import_csv(database, "patient_identity", write_csv(tmp_path / "i.csv", identity), author=ME)
    return study


def _count(database: StudyDatabase, table) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def test_ingest_links_deidentifies_and_keeps_suv(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    source = tmp_path / "dicom"
    _write_visit(source / "hospital", HOSPITAL_ID, plant=True)
    _write_visit(source / "sim", "SIM-0002")
    result = ingest(enrolled, database, source, author=ME)
    assert result.ok, result.problems
    assert sorted((s.patient_id, s.modality) for s in result.series) == [
        ("SIM-0001", "CT"),
        ("SIM-0001", "PT"),
        ("SIM-0002", "CT"),
        ("SIM-0002", "PT"),
    ]
    assert {(s.tracer, s.time_point_min) for s in result.series} == {("f18-fdg", 60)}
    with database.engine.connect() as connection:
        rows = connection.execute(select(series)).mappings().all()
        stored_visits = set(connection.execute(select(visits.c.visit_id)).scalars())
        assert {r["visit_id"] for r in rows} == stored_visits
        assert verify_audit_trail(connection).ok
    pet_rows = [r for r in rows if r["modality"] == "PT"]
    assert all(r["uptake_min"] == pytest.approx(60.0) for r in pet_rows)
    assert _count(database, instances) == 12
    assert scan_for_needles(all_files(enrolled.images)) == []
    # SUV of the stored copy equals the original's, factor by factor
    stored = index_dicom_folder(enrolled.images / "SIM-0001").of_kind(SeriesKind.PT)[0]
    original = index_dicom_folder(source / "hospital" / "PT").of_kind(SeriesKind.PT)[0]
    np.testing.assert_array_equal(
        compute_suv(read_series_volume(stored)).factors,
        compute_suv(read_series_volume(original)).factors,
    )
    header = pydicom.dcmread(stored.instances[0].path)
    assert header.PatientID == "SIM-0001"
    assert header.PatientIdentityRemoved == "YES"


def test_ingest_again_changes_nothing(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _write_visit(tmp_path / "dicom", "SIM-0002")
    first = ingest(enrolled, database, tmp_path / "dicom", author=ME)
    assert first.n_written == 6
    before = database.content_hash()
    again = ingest(enrolled, database, tmp_path / "dicom", author=ME)
    assert again.n_written == 0
    assert len(again.series) == 2
    assert database.content_hash() == before


def test_an_unknown_patient_is_refused_and_the_others_are_stored(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _write_visit(tmp_path / "dicom" / "a", "NOT-ENROLLED-77")
    _write_visit(tmp_path / "dicom" / "b", "SIM-0003")
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME)
    assert {s.patient_id for s in result.series} == {"SIM-0003"}
    assert len(result.problems) == 2
    assert all("neither in the identity table" in p.message for p in result.problems)
    assert all("NOT-ENROLLED-77" not in str(p) for p in result.problems)


PATIENT_RECORD = {
    "patient_id": "",
    "sex": "F",
    "birth_date": date(1960, 3, 15),
    "screening_date": date(2025, 5, 2),
}


def _enrol_unchecked(database: StudyDatabase, patient_id: str) -> None:
    """A patient stored as a database written before identifiers were checked (issue 19)
    holds it: straight into the table, past ``petdx import``."""
    with database.begin() as connection:
        insert_records(
            connection, "patients", [dict(PATIENT_RECORD, patient_id=patient_id)], author=ME
        )


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stored_patient_id_that_climbs_out_writes_nothing_outside_the_study(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    workers: int,
    request: pytest.FixtureRequest,
) -> None:
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    climbing = "../../sentinel/PWNED"  # images/<patient> -> tmp_path/sentinel/PWNED
    # patient_id is VARCHAR(64) in PostgreSQL: the absolute ID must fit whatever tmp_path's length
    short_sentinel = Path(tempfile.mkdtemp(prefix="pxs", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(short_sentinel, ignore_errors=True))
    absolute = str(short_sentinel / "ABSOLUTE")
    assert len(absolute) <= 64
    unsafe = [climbing, absolute]
    if database.engine.dialect.name == "sqlite":
        unsafe.append("SIM\x000001")  # PostgreSQL text cannot hold NUL, so no such ID is stored
    for n, pid in enumerate(unsafe):
        _enrol_unchecked(database, pid)
        _write_visit(tmp_path / "dicom" / f"bad{n}", pid)
    _write_visit(tmp_path / "dicom" / "good", "SIM-0002")
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME, workers=workers)
    assert list(sentinel.rglob("*")) == []
    assert list(short_sentinel.rglob("*")) == []
    assert {s.patient_id for s in result.series} == {"SIM-0002"}
    assert len(result.problems) == 2 * len(unsafe)  # PET and CT of each
    assert all("not stored: patient_id" in p.message for p in result.problems)
    assert all("cannot name a file or folder" in p.message for p in result.problems)
    assert sum("path separator" in p.message for p in result.problems) >= 2
    assert sum("NUL" in p.message for p in result.problems) == 2 * ("SIM\x000001" in unsafe)
    outside = [p for p in tmp_path.rglob("*.dcm") if not p.is_relative_to(tmp_path / "dicom")]
    assert all(p.is_relative_to(enrolled.images / "SIM-0002") for p in outside)
    assert len(outside) == 6


_DRIVER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from petdx.pipeline import IngestResult, ingest
    from petdx.study.config import open_study
    from petdx.study.database import open_database
    from petdx.study.records import Author, insert_records

    study_root, source, marker, stop_after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    study = open_study(study_root)

    def progress(done, total):
        if done == stop_after:
            Path(marker).write_text(str(total))
            time.sleep(120)  # wait here to be killed

    ingest(
        study, open_database(study), source, author=Author("tech"), progress=progress, workers=2
    )
    """
)


def _break_audit_row(database: StudyDatabase, seq: int) -> None:
    """What an administrator with direct database access could do."""
    with database.engine.begin() as connection:
        if database.dialect == "sqlite":
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        else:
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
        connection.execute(
            text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :seq"), {"seq": seq}
        )


@pytest.mark.slow
def test_kill_minus_9_midway_then_rerun_stores_every_instance_once(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    source = tmp_path / "dicom"
    for k in range(5):  # 5 visits x (PET + CT) = 10 series, 40 instances
        _write_visit(source / f"v{k}", "SIM-0001" if k % 2 else "SIM-0002", n_slices=4)
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", _DRIVER, str(enrolled.root), str(source), str(marker), "23"],
        env={**os.environ, "PYTHONPATH": _THIS_CHECKOUT},
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, "the ingest ended before it could be killed"
        assert time.monotonic() < deadline, "the ingest never reached the kill point"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    partial = _count(database, instances)
    assert 0 < partial < 40  # killed midway: some series recorded, not all

    result = ingest(enrolled, database, source, author=ME)
    assert result.ok, result.problems
    assert len(result.series) == 10
    assert _count(database, instances) == 40
    files = [p for p in all_files(enrolled.images) if p.suffix == ".dcm"]
    assert len(files) == 40
    assert not [p for p in files if p.name.startswith(".")]  # no temporary left
    with database.engine.connect() as connection:
        uids = connection.execute(select(instances.c.sop_instance_uid)).scalars().all()
        assert len(set(uids)) == 40
        assert verify_audit_trail(connection).ok

    _break_audit_row(database, 3)
    with database.engine.connect() as connection:
        verification = verify_audit_trail(connection)
    assert not verification.ok
    assert [p.seq for p in verification.problems] == [3]
    assert "audit row 3" in str(verification)
    assert "was altered" in str(verification)


def test_a_pet_series_without_suv_is_stored_with_the_reason(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    pet = pet_series(3)
    for ds in pet:
        ds.PatientID = "SIM-0002"
        ds.CorrectedImage = ["NORM", "DECY"]  # not attenuation corrected
    save_series(pet, tmp_path / "dicom")
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME)
    assert result.ok
    with database.engine.connect() as connection:
        row = connection.execute(select(series)).mappings().one()
    assert row["suv_factor"] is None
    assert "ATTN" in row["suv_error"]
    assert row["n_instances"] == 3


def _stored(study: StudyFolder) -> dict[str, bytes]:
    return {
        str(p.relative_to(study.images)): p.read_bytes()
        for p in all_files(study.images)
        if p.suffix == ".dcm"
    }


@pytest.mark.parametrize(
    "fork",
    [
        False,
        pytest.param(
            True, marks=pytest.mark.skipif(not fork_available(), reason="forks on Linux only")
        ),
    ],
)
def test_stored_files_are_the_same_for_any_number_of_workers_and_on_every_rerun(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path, fork: bool
) -> None:
    source = tmp_path / "dicom"
    for k in range(3):
        _write_visit(source / f"v{k}", HOSPITAL_ID if k else "SIM-0002", plant=bool(k))
    first = ingest(enrolled, database, source, author=ME, workers=2, fork_workers=fork)
    assert first.ok, first.problems
    assert first.n_written == 18
    files, content = _stored(enrolled), database.content_hash()
    for path in all_files(enrolled.images):
        path.unlink()  # every stored copy lost: recorded, but its file missing
    again = ingest(enrolled, database, source, author=ME, workers=1)
    assert again.ok, again.problems
    assert again.n_written == 18  # all rewritten ...
    assert _stored(enrolled) == files  # ... byte for byte
    assert database.content_hash() == content  # same rows, hashes and paths
    for path in all_files(enrolled.images):
        path.unlink()
    given = CountingExecutor()
    third = ingest(enrolled, database, source, author=ME, executor=given)
    assert given.submitted == 6  # one task per series, on the executor given
    assert third.n_written == 18
    assert _stored(enrolled) == files
    assert database.content_hash() == content
    with database.engine.connect() as connection:
        recorded = dict(connection.execute(select(instances.c.path, instances.c.sha256)).all())
    assert {
        str(Path("images") / name): hashlib.sha256(data).hexdigest() for name, data in files.items()
    } == recorded


def _ingest_a_visit_with(
    encoder: type[DeidentifiedFileEncoder],
    study: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> IngestResult:
    """Ingest one PET/CT visit (3 + 3 instances) with ``encoder`` in place of petdx's."""
    monkeypatch.setattr(COPY_MODULE, "DeidentifiedFileEncoder", encoder)
    _write_visit(tmp_path / "dicom", "SIM-0002")
    return ingest(study, database, tmp_path / "dicom", author=ME, workers=1)


class _WeightChangingEncoder(DeidentifiedFileEncoder):
    """A broken de-identification: the copy's PatientWeight differs (SUV changes)."""

    def encode(self, header: pydicom.Dataset) -> bytes:
        copy = pydicom.dcmread(io.BytesIO(super().encode(header)))
        if copy.Modality == "PT":
            copy.PatientWeight = "71"
        buffer = io.BytesIO()
        copy.save_as(buffer, enforce_file_format=True)
        return buffer.getvalue()


def test_a_copy_whose_suv_differs_from_the_original_is_not_recorded(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = _ingest_a_visit_with(_WeightChangingEncoder, enrolled, database, tmp_path, monkeypatch)
    assert [s.modality for s in result.series] == ["CT"]
    (problem,) = result.problems
    assert (
        problem.source
        == index_dicom_folder(tmp_path / "dicom" / "PT")
        .of_kind(SeriesKind.PT)[0]
        .series_instance_uid
    )
    assert "SUV factors of 3 of the 3 de-identified frames differ" in problem.message
    assert "the series was not recorded" in problem.message
    with database.engine.connect() as connection:
        assert connection.execute(select(series.c.modality)).scalars().all() == ["CT"]
        assert _count(database, instances) == 3


class _FailingEncoder(DeidentifiedFileEncoder):
    def encode(self, header: pydicom.Dataset) -> bytes:
        if header.Modality == "CT":
            raise ValueError("invalid value for VR DS: '1,5'")
        return super().encode(header)


def test_a_series_that_cannot_be_written_is_refused_and_the_others_stored(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = _ingest_a_visit_with(_FailingEncoder, enrolled, database, tmp_path, monkeypatch)
    assert [s.modality for s in result.series] == ["PT"]
    (problem,) = result.problems
    assert problem.message.startswith(
        "CT series: instance number 1 cannot be de-identified and written (ValueError: "
        "invalid value for VR DS: '1,5')."
    )


def _remove(path: Path) -> None:
    path.unlink()


def _move_to_another_series(path: Path) -> None:
    ds = pydicom.dcmread(path)
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "start", "what"),
    [
        (_remove, None, "a file can no longer be read (FileNotFoundError)"),
        (_move_to_another_series, None, "a file was modified after it was indexed"),
        # spawned workers read the files again, and see what changed in them
        (_remove, "spawn", "a file can no longer be read (FileNotFoundError)"),
        (_move_to_another_series, "spawn", "a file now belongs to another series"),
        # forked workers inherit the index, and check the files' modification times
        pytest.param(
            _move_to_another_series,
            "fork",
            "a file was modified after it was indexed",
            marks=pytest.mark.skipif(not fork_available(), reason="petdx forks on Linux only"),
        ),
    ],
)
def test_a_series_whose_files_change_during_the_ingest_is_refused(
    enrolled: StudyFolder,
    database: StudyDatabase,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    change: Callable[[Path], None],
    start: str | None,
    what: str,
) -> None:
    from petdx.dicom.sources import FolderSource

    real_index = FolderSource.index

    def index_then_change_a_file(self: FolderSource, **kwargs: Any) -> object:
        index = real_index(self, **kwargs)
        change(sorted((self.folder / "PT").iterdir())[0])  # after the index, before the copy
        return index

    monkeypatch.setattr(FolderSource, "index", index_then_change_a_file)
    _write_visit(tmp_path / "dicom", "SIM-0002")
    workers = 1 if start is None else 2
    result = ingest(
        enrolled,
        database,
        tmp_path / "dicom",
        author=ME,
        workers=workers,
        fork_workers=start == "fork",
    )
    assert [s.modality for s in result.series] == ["CT"]
    (problem,) = result.problems
    assert problem.message.startswith(
        f"PT series: its files changed while petdx was ingesting them ({what})."
    )


def test_a_series_holding_an_instance_twice_is_refused(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _write_visit(tmp_path / "dicom", "SIM-0002")
    first = sorted((tmp_path / "dicom" / "CT").iterdir())[0]
    shutil.copy(first, first.with_name("copy_of_first.dcm"))
    result = ingest(enrolled, database, tmp_path / "dicom", author=ME, workers=1)
    assert [s.modality for s in result.series] == ["PT"]
    (problem,) = result.problems
    assert re.search(r"CT series: SOPInstanceUID [0-9.]+ is in 2 files", problem.message)
    assert problem.folder == "CT"


_ORPHAN_DRIVER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from petdx.pipeline.executors import LocalProcessExecutor

    pool = LocalProcessExecutor(1, start_method=sys.argv[2])
    worker = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 120)  # busy when its parent is killed
    Path(sys.argv[1] + ".tmp").write_text(str(worker))
    Path(sys.argv[1] + ".tmp").rename(sys.argv[1])  # never seen half-written
    time.sleep(120)
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has ended


@pytest.mark.slow
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_worker_processes_end_when_the_ingest_process_is_killed(
    tmp_path: Path, method: str
) -> None:
    marker = tmp_path / "worker-pid"
    process = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_DRIVER, str(marker), method],
        env={**os.environ, "PYTHONPATH": _THIS_CHECKOUT},
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert process.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker = int(marker.read_text())
    assert _alive(worker)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


_LOCK_DRIVER = textwrap.dedent(
    """
    import importlib, sys, time
    from pathlib import Path
    from petdx.study.config import open_study

    ingest_module = importlib.import_module("petdx.pipeline.ingest")
    with ingest_module._study_lock(open_study(sys.argv[1])):
        Path(sys.argv[2]).write_text("locked")
        time.sleep(120)
    """
)


@pytest.mark.slow
def test_a_second_ingest_of_the_same_study_is_refused_while_one_runs(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    _write_visit(tmp_path / "dicom", "SIM-0002")
    marker = tmp_path / "locked"
    holder = subprocess.Popen(
        [sys.executable, "-c", _LOCK_DRIVER, str(enrolled.root), str(marker)],
        env={**os.environ, "PYTHONPATH": _THIS_CHECKOUT},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert holder.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(InputValidationError, match="another petdx ingest is running"):
            ingest(enrolled, database, tmp_path / "dicom", author=ME)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert ingest(enrolled, database, tmp_path / "dicom", author=ME).ok  # free again


@pytest.mark.parametrize("implicit", [True, False], ids=["implicit-vr", "explicit-vr"])
def test_ingest_writes_file_meta_for_bare_data_sets(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path, implicit: bool
) -> None:
    """Issue 22: a series stored without preamble or File Meta is stored with File Meta
    Information written (PS3.10), pixels unchanged."""
    source = tmp_path / "bare"
    pet = pet_series(3)
    for ds in pet:
        ds.PatientID = "SIM-0002"
    save_series(pet, tmp_path / "clean")
    source.mkdir()
    for path in sorted((tmp_path / "clean").iterdir()):
        ds = pydicom.dcmread(path)
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.preamble = None
        pydicom.dcmwrite(source / path.name, ds, implicit_vr=implicit, enforce_file_format=False)
        assert (source / path.name).read_bytes()[128:132] != b"DICM"
    result = ingest(enrolled, database, source, author=ME)
    assert result.ok, result.problems
    stored = sorted(enrolled.images.rglob("*.dcm"))
    assert len(stored) == 3
    originals = {pydicom.dcmread(p).InstanceNumber: p for p in (tmp_path / "clean").iterdir()}
    for path in stored:
        assert path.read_bytes()[128:132] == b"DICM"
        copy = pydicom.dcmread(path)
        assert copy.file_meta.TransferSyntaxUID in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")
        assert copy.file_meta.MediaStorageSOPClassUID == copy.SOPClassUID
        assert copy.file_meta.MediaStorageSOPInstanceUID == copy.SOPInstanceUID
        original = pydicom.dcmread(originals[copy.InstanceNumber])
        np.testing.assert_array_equal(copy.pixel_array, original.pixel_array)


def test_a_list_of_files_ingests_like_their_folder(
    enrolled: StudyFolder, database: StudyDatabase, tmp_path: Path
) -> None:
    """The image-source seam (petdx.dicom.sources): the files of a folder given as a list
    (a C-STORE receiver's inbox) store the same files and rows as the folder."""
    from petdx.dicom.sources import FileListSource, FolderSource, as_image_source

    source = tmp_path / "dicom"
    _write_visit(source / "v0", "SIM-0002")
    by_folder = ingest(enrolled, database, FolderSource(source), author=ME)
    assert by_folder.ok, by_folder.problems
    files, content = _stored(enrolled), database.content_hash()
    for path in all_files(enrolled.images):
        path.unlink()
    inbox = FileListSource(sorted(p for p in all_files(source) if p.is_file()), name="inbox")
    by_list = ingest(enrolled, database, inbox, author=ME)
    assert by_list.ok, by_list.problems
    assert by_list.n_written == by_folder.n_written == 6
    assert _stored(enrolled) == files
    assert database.content_hash() == content
    assert as_image_source(source) == FolderSource(source)
    junk = tmp_path / "junk.txt"
    junk.write_text("not DICOM")
    nothing = ingest(enrolled, database, FileListSource([junk], name="inbox"), author=ME)
    assert nothing.series == ()
    assert nothing.nothing_read is not None
    assert [(p.source, p.folder) for p in nothing.problems] == [("inbox (1 files)",) * 2]
