"""``petdx pacs send`` against a real Orthanc (issue 15 Build 5): a SEG and a TID 1500 SR
written by petdx (petdx.dicom.seg, petdx.dicom.sr) are stored by STOW-RS, and the test
reads them back itself, through Orthanc's own REST API and through QIDO-RS: listed, the
same bytes as the files sent, and valid for dciodvfy. Sending is refused unless the study
allows it; a file that is not a SEG or SR is named and the others are still sent."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
import requests

from petdx.dicom import (
    SeriesKind,
    SrLesion,
    index_dicom_folder,
    read_series_volume,
    source_datasets,
    write_measurement_report,
    write_seg,
)
from tests.dicom._dciodvfy import dciodvfy_errors
from tests.factories import pet_series, save_series
from tests.pacs.conftest import FilledPacs
from tests.pacs.orthanc import PASSWORD, USER, orthanc_server
from tests.pacs.test_pull import _pacs, _run, _set_pacs, _study

pytestmark = [pytest.mark.xdist_group("orthanc"), pytest.mark.slow]


@pytest.fixture
def research_pacs(tmp_path: Path) -> Iterator[FilledPacs]:
    """An empty Orthanc of this test: the research PACS that receives the results."""
    with orthanc_server(tmp_path / "server") as server:
        yield FilledPacs(server, tmp_path / "dicom")


def _results(folder: Path) -> tuple[Path, Path, Path]:
    """A PET series, a SEG of one lesion on it and the SR of its measurements."""
    pet = save_series(pet_series(4, rows=8, cols=8), folder / "pet")
    (entry,) = index_dicom_folder(folder / "pet").of_kind(SeriesKind.PT)
    series = read_series_volume(entry)
    labels = np.zeros(series.volume.shape, dtype=np.uint8)
    labels[1:3, 2:5, 2:5] = 1
    seg = write_seg(series.volume.with_array(labels), series, folder / "seg.dcm")
    lesion = SrLesion(1, 1, 7.25, 5.5, 4.0, 1.25, 2.0, 1.152, 4.608, 12.5)
    write_measurement_report(
        folder / "sr.dcm", seg=seg, source_images=source_datasets(series), lesions=[lesion]
    )
    return folder / "seg.dcm", folder / "sr.dcm", pet[0]


def _orthanc_file(base: str, sop_uid: str) -> bytes:
    """The file Orthanc stores for a SOP Instance UID (its REST API, not petdx's code)."""
    auth = (USER, PASSWORD)
    hits = requests.post(f"{base}/tools/lookup", data=sop_uid, auth=auth, timeout=10).json()
    (instance,) = [h["ID"] for h in hits if h["Type"] == "Instance"]
    response = requests.get(f"{base}/instances/{instance}/file", auth=auth, timeout=10)
    response.raise_for_status()
    return response.content


def test_send_stores_seg_and_sr_read_back_identical(
    research_pacs: FilledPacs, tmp_path: Path
) -> None:
    seg, sr, pet = _results(tmp_path / "results")
    study = _study(tmp_path / "s", _pacs(research_pacs, tmp_path))
    code, _, err = _run("pacs", "send", study.root, seg, sr)
    assert code == 2
    assert "send_allowed is not true" in err
    assert research_pacs.server.rest("/instances") == []

    _set_pacs(study, {**_pacs(research_pacs, tmp_path), "send_allowed": True})
    junk = tmp_path / "notes.dcm"
    junk.write_text("not DICOM")
    code, out, err = _run("pacs", "send", study.root, seg, pet, junk, sr)
    assert code == 2, err
    result = json.loads(out)
    assert [(f["kind"], f["stored"]) for f in result["files"]] == [
        ("SEG", True),
        ("", False),
        ("", False),
        ("SR", True),
    ]
    assert "is not a Segmentation or a Structured Report" in err
    assert f"{junk}: not a DICOM file" in err
    assert len(list(study.logs.glob("pacs-send-*.json"))) == 1

    base = research_pacs.server.url
    assert len(research_pacs.server.rest("/instances")) == 2  # type: ignore[arg-type]
    for path in (seg, sr):
        ds = pydicom.dcmread(path)
        stored = _orthanc_file(base, ds.SOPInstanceUID)
        assert hashlib.sha256(stored).digest() == hashlib.sha256(path.read_bytes()).digest()
        back = tmp_path / f"back-{path.name}"
        back.write_bytes(stored)
        assert dciodvfy_errors(back) == []
        # QIDO-RS lists it in its series (the query the acceptance names)
        found = requests.get(
            f"{research_pacs.server.dicomweb_url}/studies/{ds.StudyInstanceUID}/series/"
            f"{ds.SeriesInstanceUID}/instances",
            auth=(USER, PASSWORD),
            headers={"Accept": "application/dicom+json"},
            timeout=10,
        ).json()
        assert [x["00080018"]["Value"][0] for x in found] == [ds.SOPInstanceUID]
    # the SEG references the PET series it was drawn on
    seg_ds = pydicom.dcmread(seg)
    pet_uid = pydicom.dcmread(pet).SeriesInstanceUID
    assert seg_ds.ReferencedSeriesSequence[0].SeriesInstanceUID == pet_uid

    # sent again: the PACS holds one instance per UID, read back the same
    code, out, err = _run("pacs", "send", study.root, seg, sr)
    assert code == 0, err
    assert json.loads(out)["n_stored"] == 2
    assert len(research_pacs.server.rest("/instances")) == 2  # type: ignore[arg-type]

    _set_pacs(
        study,
        {**_pacs(research_pacs, tmp_path, password="wrong-password"), "send_allowed": True},
    )
    code, _, err = _run("pacs", "send", study.root, seg)
    assert code == 2
    assert "refused user" in err
    assert "Traceback" not in err
