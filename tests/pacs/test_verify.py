"""Verified ingest (issue 15 Build 4): each retrieved series is checked against what the
PACS holds (instance count, SOP Instance UIDs, and with Orthanc the MD5 of every file);
a series that fails is quarantined (recorded, nothing of it stored, named with the fix),
the other series of the run are stored, and a later pull stores it once it is intact.

The corruption is real: a byte of one file in Orthanc's storage area is changed, so that
Orthanc serves a file differing from the MD5 it recorded when it received it (what a disk
or a copy error does). Orthanc does not check the MD5 when it reads a file."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pydicom
import pytest
import requests

from petdx.dicom import SeriesKind, index_dicom_folder
from petdx.study.config import open_study
from tests.factories import pet_series, save_series
from tests.pacs.conftest import HOSPITAL_IDS, FilledPacs, write_visit
from tests.pacs.orthanc import PASSWORD, USER, OrthancServer, orthanc_server
from tests.pacs.test_pull import _pacs, _rows, _run, _set_pacs, _stored, _study

pytestmark = [pytest.mark.xdist_group("orthanc"), pytest.mark.slow]


@pytest.fixture(scope="module")
def own_pacs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FilledPacs]:
    """An Orthanc of this module only (its storage is corrupted and repaired here)."""
    root = tmp_path_factory.mktemp("orthanc-verify")
    files: list[Path] = []
    for k, hospital_id in enumerate(HOSPITAL_IDS.values()):
        files += write_visit(root / "dicom" / f"p{k}", hospital_id, n_slices=2, plant=False)
    # no storage cache: Orthanc serves what is on its disk now
    with orthanc_server(root / "server", {"MaximumStorageCacheSize": 0}) as server:
        server.store(files)
        yield FilledPacs(server, root / "dicom")


def _storage_file(server: OrthancServer, hospital_id: str, modality: str) -> Path:
    """The file in Orthanc's storage area of the first instance of a patient's series."""
    auth = (USER, PASSWORD)
    for series_id in server.rest("/series"):  # type: ignore[union-attr]
        series = server.rest(f"/series/{series_id}")
        assert isinstance(series, dict)
        patient = server.rest(f"/series/{series_id}/patient")
        assert isinstance(patient, dict)
        if (
            series["MainDicomTags"]["Modality"] == modality
            and patient["MainDicomTags"]["PatientID"] == hospital_id
        ):
            instance = sorted(series["Instances"])[0]
            md5 = requests.get(
                f"{server.url}/instances/{instance}/attachments/dicom/md5", auth=auth, timeout=10
            ).text.strip()
            storage = server.log.parent / "storage"
            (path,) = [  # Orthanc names stored files by UUID; find it by its content
                p
                for p in storage.rglob("*")
                if p.is_file() and hashlib.md5(p.read_bytes()).hexdigest() == md5
            ]
            return path
    raise AssertionError(f"no {modality} series of {hospital_id} in Orthanc")


def test_a_series_that_differs_from_the_pacs_is_quarantined_and_the_rest_stored(
    own_pacs: FilledPacs, tmp_path: Path
) -> None:
    stored_file = _storage_file(own_pacs.server, HOSPITAL_IDS["SIM-0002"], "PT")
    original = stored_file.read_bytes()
    ds = pydicom.dcmread(stored_file)
    assert ds.PatientID == HOSPITAL_IDS["SIM-0002"]  # the file found is the one meant
    corrupt = bytearray(original)
    corrupt[-3] ^= 0xFF  # one pixel byte: the file still parses, its count and UIDs are right
    study = _study(tmp_path / "s", _pacs(own_pacs, tmp_path))
    try:
        stored_file.write_bytes(bytes(corrupt))

        # DICOMweb alone (counts and UIDs) cannot see it: a copy with a changed pixel
        uids_only = _study(tmp_path / "u", _pacs(own_pacs, tmp_path))
        _set_pacs(uids_only, {**_pacs(own_pacs, tmp_path), "checksums": "uids"})
        code, out, err = _run("pacs", "pull", uids_only.root)
        assert code == 0, err
        assert json.loads(out)["checks"] == "uids"
        assert len(_stored(open_study(uids_only.root))) == 12

        code, out, err = _run("pacs", "pull", study.root)
        assert code == 2, err
        result = json.loads(out)
        assert result["checks"] == "orthanc-md5"
        assert len(result["problems"]) == 1
        assert "SIM-0002 PT series of 20250101" in err
        assert "1 of 2 instance(s) differ from the file the PACS stores" in err
        assert "petdx pacs pull STUDY --patient SIM-0002" in err
        assert "Traceback" not in err
        # the other five series are stored; nothing of the bad one
        series = _rows(study)["series"]
        assert len(series) == 5
        assert len(_stored(study)) == 10
        assert not any("SIM-0002" in str(row) and "PT" in str(row) for row in series)
        records = list(study.layout.pacs_quarantine.glob("*.json"))
        assert len(records) == 1
        record = json.loads(records[0].read_text())
        assert (record["patient_id"], record["modality"]) == ("SIM-0002", "PT")
        assert HOSPITAL_IDS["SIM-0002"] not in records[0].read_text()
        assert not study.layout.pacs_staging.exists()
        log = next(study.logs.glob("pacs-pull-*.json")).read_text()
        assert HOSPITAL_IDS["SIM-0002"] not in log
        assert record["series_uid_deidentified"] in log
    finally:
        stored_file.write_bytes(original)

    # repaired in the PACS: the next pull stores the series and clears its record
    code, out, err = _run("pacs", "pull", study.root)
    assert code == 0, err
    again = json.loads(out)
    assert again["series_already_stored"] == 5
    assert again["instances_md5_checked"] == 2
    assert len(_rows(study)["series"]) == 6
    assert len(_stored(study)) == 12
    assert list(study.layout.pacs_quarantine.glob("*.json")) == []


def test_checksums_orthanc_md5_without_orthanc_is_a_configuration_error(
    own_pacs: FilledPacs, tmp_path: Path
) -> None:
    study = _study(tmp_path / "s", _pacs(own_pacs, tmp_path))
    # the DICOMweb root answers, but orthanc_url points at a path that is not Orthanc's REST
    pacs = {
        **_pacs(own_pacs, tmp_path),
        "checksums": "orthanc-md5",
        "orthanc_url": f"{own_pacs.server.url}/dicom-web",
    }
    _set_pacs(study, pacs)
    code, _, err = _run("pacs", "pull", study.root)
    assert code == 2
    assert 'checksums = "orthanc-md5"' in err
    assert "orthanc_url" in err
    assert _stored(study) == {}
    _set_pacs(study, {**pacs, "checksums": "sha1"})
    code, _, err = _run("pacs", "pull", study.root)
    assert code == 2
    assert "[pacs] checksums is 'sha1'" in err


class _CuttingProxy(BaseHTTPRequestHandler):
    """Forwards to Orthanc; the WADO-RS retrieve of one series stops after half its body
    (a PACS or a network that fails mid-transfer): the headers promise the whole length."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Orthanc
    upstream = ""
    cut_series = ""

    def _forward(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        answer = requests.request(
            method, self.upstream + self.path, headers=headers, data=body, timeout=30
        )
        content = answer.content
        cut = self.path.endswith(f"/series/{self.cut_series}") and method == "GET"
        self.send_response(answer.status_code)
        for key, value in answer.headers.items():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        if cut:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(content[: len(content) // 2] if cut else content)
        self.wfile.flush()
        self.close_connection = cut

    def do_GET(self) -> None:
        self._forward("GET")

    def do_POST(self) -> None:
        self._forward("POST")

    def log_message(self, *args: object) -> None:
        pass


def test_a_transfer_that_stops_midway_keeps_the_good_series(
    own_pacs: FilledPacs, tmp_path: Path
) -> None:
    pet = index_dicom_folder(own_pacs.dicom / "p2" / "PT").of_kind(SeriesKind.PT)[0]
    handler = type(
        "Proxy",
        (_CuttingProxy,),
        {"upstream": own_pacs.server.url, "cut_series": pet.series_instance_uid},
    )
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{proxy.server_address[1]}/dicom-web"
        study = _study(tmp_path / "s", {**_pacs(own_pacs, tmp_path), "url": url})
        code, out, err = _run("pacs", "pull", study.root)
    finally:
        proxy.shutdown()
        proxy.server_close()
        thread.join(timeout=5)
    assert code == 2, err
    result = json.loads(out)
    assert len(result["problems"]) == 1
    assert "SIM-0003 PT series of 20250101" in err
    assert "retrieval failed" in err
    assert "the transfer stopped midway" in err
    assert "Traceback" not in err
    assert len(_rows(study)["series"]) == 5  # the five other series are stored
    assert len(_stored(study)) == 10
    assert not study.layout.pacs_staging.exists()
    code, _, err = _run("audit", "verify", study.root)
    assert code == 0, err


def test_a_known_instance_with_different_content_is_quarantined_never_overwritten(
    tmp_path: Path,
) -> None:
    """The PACS (Orthanc with OverwriteInstances) gets an edited copy of a stored instance
    (same SOP Instance UID, other pixels) and a new instance of the same series: the next
    pull quarantines the series and keeps the stored copy as it was."""
    pet = pet_series(3)
    for ds in pet:
        ds.PatientID = HOSPITAL_IDS["SIM-0001"]
    files = save_series(pet, tmp_path / "dicom" / "PT")
    settings = {"MaximumStorageCacheSize": 0, "OverwriteInstances": True}
    with orthanc_server(tmp_path / "server", settings) as server:
        server.store(files[:2])
        filled = FilledPacs(server, tmp_path / "dicom")
        study = _study(tmp_path / "s", _pacs(filled, tmp_path))
        code, _, err = _run("pacs", "pull", study.root)
        assert code == 0, err
        before = {name: path.read_bytes() for name, path in _stored(study).items()}
        assert len(before) == 2

        edited = pydicom.dcmread(files[0])
        pixels = bytearray(edited.PixelData)
        pixels[0] ^= 0x01
        edited.PixelData = bytes(pixels)
        edited_file = tmp_path / "edited.dcm"
        edited.save_as(edited_file, enforce_file_format=True)
        server.store([edited_file, files[2]])

        code, out, err = _run("pacs", "pull", study.root)
    assert code == 2, err
    assert len(json.loads(out)["problems"]) == 1
    assert "SIM-0001 PT series of 20250101" in err
    assert "a SOP Instance UID the study stores already but different content" in err
    assert "petdx never overwrites a stored instance" in err
    after = {name: path.read_bytes() for name, path in _stored(study).items()}
    assert after == before  # the stored copies unchanged, the new instance not added
    rows = _rows(study)
    assert (len(rows["series"]), len(rows["instances"])) == (1, 2)
    assert len(list(study.layout.pacs_quarantine.glob("*.json"))) == 1
