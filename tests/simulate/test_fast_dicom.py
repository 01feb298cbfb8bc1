"""The fast slice writer produces exactly the bytes pydicom's own writer produces."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pydicom

from petdx.simulate.dicom_writer import (
    PatientInfo,
    StudyInfo,
    write_ct_series,
    write_pet_series,
)
from petdx.simulate.scanner import ScannerModel
from petdx.simulate.shapes import Grid
from tests.simulate.helpers import ga68_acquisition


def _rewritten(path: Path) -> bytes:
    """The file read by pydicom and written again by pydicom (dcmwrite)."""
    dataset = pydicom.dcmread(path)
    buffer = io.BytesIO()
    pydicom.dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def test_pet_and_ct_slices_equal_pydicom_output(tmp_path: Path) -> None:
    grid = Grid.centred((6, 8, 8), (4.0, 4.0, 4.0), z_first_mm=-20.0)
    patient = PatientInfo("SIM-0001", "F", date(1970, 5, 6), 61.5, 1.64)
    start = datetime(2026, 5, 4, 10, 0, 0)
    study = StudyInfo("1.2.3", "1.2.3.4", start, "S1", "ACC1", "test")
    beds = ScannerModel(bed_step_mm=12.0).bed_timings(6, 4.0, 120.0)
    acquisition = ga68_acquisition("1.2.3.5", start, beds)
    stored = np.arange(6 * 64, dtype=np.int16).reshape(6, 8, 8)
    kept = write_pet_series(
        tmp_path / "PT",
        stored,
        ["0.5"] * 6,
        grid,
        patient=patient,
        study=study,
        acquisition=acquisition,
        sop_uid=lambda k: f"1.2.3.6.{k}",
        keep={2},
    )
    assert [int(d.InstanceNumber) for d in kept] == [3]
    write_ct_series(
        tmp_path / "CT",
        stored - 1000,
        grid,
        patient=patient,
        study=study,
        series_uid="1.2.3.7",
        series_number=1,
        acquired=start + timedelta(minutes=58),
        sop_uid=lambda k: f"1.2.3.8.{k}",
    )
    files = sorted(tmp_path.rglob("*.dcm"))
    assert len(files) == 12
    for path in files:
        assert path.read_bytes() == _rewritten(path), path.name
    ct = pydicom.dcmread(tmp_path / "CT" / "CT000002.dcm")
    assert np.array_equal(ct.pixel_array.astype(np.int32) - 1024, stored[1] - 1000)
    pet = pydicom.dcmread(tmp_path / "PT" / "PT000004.dcm")
    assert np.array_equal(pet.pixel_array, stored[3])
    assert pet.AcquisitionTime != pydicom.dcmread(tmp_path / "PT" / "PT000001.dcm").AcquisitionTime
