"""PACS pull (issue 15): a whole-body PET/CT study pulled over DICOMweb from a local Orthanc,
against ``dicomweb-client``'s plain retrieve-and-write loop of the same series, in the same
run, from the same server.

Peer: ``DICOMwebClient.iter_series`` (streamed WADO-RS, the transfer syntax the PACS
stores) of the PET and the CT series, each instance written with ``pydicom.dcmwrite``: the
loop the issue names, nothing else. petdx's ``pull`` does more on top of the same
retrieval: QIDO-RS search of the identity table's patient, the checks against the PACS
(count, SOP Instance UIDs by QIDO-RS, Orthanc's MD5 of every file: one more REST request
per instance), then ``petdx ingest`` of the staged study (PS3.15 de-identification, SUV of
the original and of the copies, SHA-256, temporary name and rename, sync, audited rows).

The server: Debian's Orthanc with its DICOMweb plugin on localhost (tests/pacs/orthanc.py),
filled once by C-STORE (untimed). Runs alternate petdx and the peer, each into a fresh
study or folder (setup untimed); the load average and CPU time are printed.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import pydicom
import requests
import tomli_w
from dicomweb_client.api import DICOMwebClient
from tests.factories import ct_series, pet_series, save_series
from tests.pacs.orthanc import PASSWORD, USER, orthanc_server
from tests.study.cohort import PATIENTS, write_csv

from benchmarks._timing import Timing, report
from petdx.pacs import PacsStudySource, connect, find_series, load_pacs_config, pull
from petdx.pacs.pull import _checksum_source
from petdx.study.config import StudyConfig, open_study
from petdx.study.database import init_study, open_database
from petdx.study.importing import import_csv
from petdx.study.queries import patient_identities
from petdx.study.records import Author

#: A whole-body PET/CT: 4 mm PET on a 192 x 192 grid and a 512 x 512 CT, 221 slices each
#: (88 cm of axial coverage).
N_SLICES, PET_MATRIX, CT_MATRIX = 221, 192, 512
HOSPITAL_ID = "MRN-BENCH-01"
REPEAT = 3
AUTHOR = Author("bench")


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + workers.ru_utime + workers.ru_stime


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def _write_study(folder: Path) -> list[Path]:
    pet = pet_series(N_SLICES, rows=PET_MATRIX, cols=PET_MATRIX)
    ct = ct_series(N_SLICES, rows=CT_MATRIX, cols=CT_MATRIX)
    for ds in ct:
        ds.StudyInstanceUID = pet[0].StudyInstanceUID
        ds.FrameOfReferenceUID = pet[0].FrameOfReferenceUID
        ds.StudyDate = pet[0].StudyDate
    for ds in pet + ct:
        ds.PatientID = HOSPITAL_ID
    return save_series(pet, folder / "PT") + save_series(ct, folder / "CT")


def _base_study(root: Path, dicomweb_url: str) -> Path:
    study = init_study(root, StudyConfig())
    database = open_database(study)
    import_csv(database, "patients", write_csv(root / "p.csv", PATIENTS), author=AUTHOR)
    identity = [{"patient_id": "SIM-0001", "hospital_id": HOSPITAL_ID, "issuer": ""}]
    import_csv(database, "patient_identity", write_csv(root / "i.csv", identity), author=AUTHOR)
    database.dispose()
    secret = root / "pacs-password"
    secret.write_text(PASSWORD + "\n")
    pacs = {"url": dicomweb_url, "username": USER, "password_file": str(secret)}
    toml = study.layout.config_file
    toml.write_text(toml.read_text().rstrip("\n") + "\n\n" + tomli_w.dumps({"pacs": pacs}))
    return root


def _pull_once(base: Path, work: Path) -> tuple[float, float, int, int]:
    """(wall s, CPU s, files written, instances MD5-checked) of a pull into a fresh study."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work)
    study = open_study(work)
    database = open_database(study)
    config = load_pacs_config(study)
    cpu, start = _cpu_s(), time.perf_counter()
    result = pull(study, database, config, author=AUTHOR)
    wall = time.perf_counter() - start
    database.dispose()
    if not result.ok:
        raise RuntimeError(f"pull refused series: {[str(p) for p in result.problems]}")
    return wall, _cpu_s() - cpu, result.n_written, result.n_md5_checked


def _retrieve_once(base: Path, out: Path) -> float:
    """pull's retrieval and checks alone (PacsStudySource.index: QIDO-RS, WADO-RS to
    staging, counts, UIDs, MD5, the index of the staged files), without the ingest."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    study = open_study(base)
    database = open_database(study)
    connection = connect(load_pacs_config(study))
    try:
        with database.engine.connect() as db:
            found = find_series(connection, patient_identities(db))
        start = time.perf_counter()
        source = PacsStudySource(
            connection, found, out, secret=database.secret(), rest=_checksum_source(connection)
        )
        index = source.index()
        wall = time.perf_counter() - start
    finally:
        connection.close()
        database.dispose()
    if source.problems or index.n_files != source.n_md5_checked:
        raise RuntimeError(f"retrieval refused series: {[str(p) for p in source.problems]}")
    return wall


def _peer_once(url: str, series: list[tuple[str, str]], out: Path) -> tuple[float, float, int]:
    """The plain loop: dicomweb-client's streamed retrieve, each instance dcmwrite-n."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    session = requests.Session()
    session.auth = (USER, PASSWORD)
    client = DICOMwebClient(url, session=session)
    cpu, start, n = _cpu_s(), time.perf_counter(), 0
    for study_uid, series_uid in series:
        for ds in client.iter_series(
            study_uid, series_uid, media_types=(("application/dicom", "*"),)
        ):
            pydicom.dcmwrite(out / f"{n:06d}.dcm", ds, enforce_file_format=True)
            n += 1
    return time.perf_counter() - start, _cpu_s() - cpu, n


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="petdx-bench-pacs-") as tmp:
        root = Path(tmp)
        files = _write_study(root / "dicom")
        series = sorted(
            {
                (str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID))
                for ds in (pydicom.dcmread(f, stop_before_pixels=True) for f in files[::N_SLICES])
            }
        )
        megabytes = sum(f.stat().st_size for f in files) / 1e6
        with orthanc_server(root / "server") as server:
            server.store(files)
            shutil.rmtree(root / "dicom")
            base = _base_study(root / "base", server.dicomweb_url)
            runs: dict[str, list[float]] = {"petdx": [], "retrieve": [], "peer": []}
            cpu: dict[str, list[float]] = {"petdx": [], "peer": []}
            loads = [_load()]
            for _ in range(REPEAT):
                wall, used, written, checked = _pull_once(base, root / "study")
                assert written == checked == len(files), (written, checked, len(files))
                runs["petdx"].append(wall)
                cpu["petdx"].append(used)
                runs["retrieve"].append(_retrieve_once(base, root / "staging"))
                wall, used, n = _peer_once(server.dicomweb_url, series, root / "peer-out")
                assert n == len(files), (n, len(files))
                runs["peer"].append(wall)
                cpu["peer"].append(used)
            loads.append(_load())
    ours = Timing("petdx pacs pull (retrieve, check MD5, ingest)", runs["petdx"])
    peer = Timing("dicomweb-client iter_series + dcmwrite loop", runs["peer"])
    text = report(
        f"PACS pull of a whole-body PET/CT ({len(files)} instances, {megabytes:.0f} MB, "
        "local Orthanc over DICOMweb)",
        ours,
        peer,
        goal="no slower than the plain loop (ratio >= 1)",
    )
    text += report(
        "The same, pull's retrieval and checks alone (no ingest)",
        Timing("petdx retrieve to staging + count/UID/MD5 checks", runs["retrieve"]),
        peer,
        goal="no slower than the plain loop (ratio >= 1)",
    )
    lines = (
        "  MB/s (median): "
        + ", ".join(f"{k} {megabytes / sorted(v)[len(v) // 2]:.0f}" for k, v in runs.items())
        + "\n  CPU s (median): "
        + ", ".join(f"{k} {sorted(v)[len(v) // 2]:.1f}" for k, v in cpu.items())
        + f"\n  machine {' -> '.join(loads)} (2 cores, shared)\n"
    )
    print(lines, flush=True)
    return text + lines


if __name__ == "__main__":
    run()
