"""Fixtures of the PACS tests: one real Orthanc per test session (tests/pacs/orthanc.py),
filled by C-STORE with a simulated 3-patient PET/CT study, and study folders whose
``[pacs]`` points at it. Tests using it carry ``@pytest.mark.xdist_group("orthanc")`` so
that one worker starts the server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.factories import ct_series, pet_series, save_series
from tests.pacs.orthanc import OrthancServer, orthanc_server
from tests.study.planted import plant_identifiers

#: The hospital identifiers of the three simulated patients and their study pseudonyms
#: (tests/study/cohort.py PATIENTS).
HOSPITAL_IDS = {"SIM-0001": "MRN-1001-AA", "SIM-0002": "MRN-1002-BB", "SIM-0003": "MRN-1003-CC"}
#: A patient in the PACS who is not in the study: never pulled.
OUTSIDER = "MRN-9999-ZZ"


def write_visit(folder: Path, hospital_id: str, *, n_slices: int, plant: bool) -> list[Path]:
    """One PET and its CT (same study and frame of reference) under ``folder``."""
    pet, ct = pet_series(n_slices), ct_series(n_slices)
    for ds in ct:
        ds.StudyInstanceUID = pet[0].StudyInstanceUID
        ds.FrameOfReferenceUID = pet[0].FrameOfReferenceUID
        ds.StudyDate = pet[0].StudyDate  # one study, one date
    for ds in pet + ct:
        if plant:
            plant_identifiers(ds, patient_id=hospital_id)
        else:
            ds.PatientID = hospital_id
    return save_series(pet, folder / "PT") + save_series(ct, folder / "CT")


@dataclass(frozen=True)
class FilledPacs:
    """The running Orthanc and the original files it was sent (``dicom``: the enrolled
    patients' files, as a folder for ``petdx ingest``)."""

    server: OrthancServer
    dicom: Path


@pytest.fixture(scope="session")
def filled_pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledPacs]:
    root = tmp_path_factory.mktemp("orthanc")
    dicom = root / "dicom"
    files: list[Path] = []
    for k, hospital_id in enumerate(HOSPITAL_IDS.values()):
        files += write_visit(dicom / f"patient{k}", hospital_id, n_slices=3 + k, plant=k == 0)
    outsider = write_visit(root / "outsider", OUTSIDER, n_slices=2, plant=False)
    with orthanc_server(root / "server") as server:
        server.store(files + outsider)
        yield FilledPacs(server, dicom)


class _Failing(BaseHTTPRequestHandler):
    """Answers every request with HTTP 500, as a PACS whose database broke does."""

    def do_GET(self) -> None:
        body = b"Internal error: database unavailable"
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_server() -> Iterator[str]:
    """A local HTTP server answering 500 (Orthanc cannot be made to fail on demand)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/dicom-web"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
