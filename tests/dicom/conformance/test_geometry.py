"""Conformance: slice geometry as vendors write it (issue 12, build 2).

Variants of the shared MIRP STS_002 PET series (TCIA Soft-tissue-Sarcoma, 3.27 mm slices) with
only ImagePositionPatient changed: the expected outcome is the clean series' SUV factor and
SUVmax (the pixels are the same) with a warning, or the refusal's text. A tilted gantry is
read as a sheared grid (each slice centre where ImagePositionPatient puts it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import GeometryError, GeometryWarning
from petdx.suv import compute_suv, suv_volume
from tests.factories import pet_series, save_series


def _copy(shared_data: Path, tmp_path: Path) -> list[Path]:
    source = shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"
    target = tmp_path / "image"
    shutil.copytree(source, target)
    files = sorted(
        target.iterdir(), key=lambda p: float(pydicom.dcmread(p).ImagePositionPatient[2])
    )
    return files


def _suv(folder: Path) -> tuple[float, float]:
    (entry,) = index_dicom_folder(folder).of_kind(SeriesKind.PT)
    pet = read_series_volume(entry)
    result = compute_suv(pet)
    return result.suv_factor, float(np.max(suv_volume(pet, result).array))


def _shift(files: list[Path], deltas_mm: dict[int, float]) -> None:
    """Move slice k (in z order) and every slice after it by deltas_mm[k] along z."""
    total = 0.0
    for k, path in enumerate(files):
        total += deltas_mm.get(k, 0.0)
        if total:
            ds = pydicom.dcmread(path)
            x, y, z = (float(v) for v in ds.ImagePositionPatient)
            ds.ImagePositionPatient = [x, y, round(z + total, 4)]
            ds.save_as(path)


def test_issue_pattern_same_suv_as_clean_twin(shared_data: Path, tmp_path: Path) -> None:
    files = _copy(shared_data, tmp_path)
    clean = _suv(tmp_path / "image")
    # two steps of 3.29 mm and one of 3.19 mm among 3.27 mm ones (GE Discovery ST, issue 12)
    _shift(files, {3: 0.02, 6: 0.02, 9: -0.08})
    with pytest.warns(GeometryWarning, match=r"slice steps vary.*0\.08 mm"):
        irregular = _suv(tmp_path / "image")
    assert irregular[0] == pytest.approx(clean[0], rel=1e-12)
    assert irregular[1] == pytest.approx(clean[1], rel=1e-6)


def test_missing_slice_refused(shared_data: Path, tmp_path: Path) -> None:
    files = _copy(shared_data, tmp_path)
    files[5].unlink()
    with pytest.raises(GeometryError, match=r"slice may be missing.*Re-export the complete"):
        _suv(tmp_path / "image")


def test_interleaved_bed_refused(shared_data: Path, tmp_path: Path) -> None:
    files = _copy(shared_data, tmp_path)
    _shift(files, {6: -1.6})  # the second stack starts half a step into the first
    with pytest.raises(GeometryError, match=r"more than 10% off.*bed positions"):
        _suv(tmp_path / "image")


def test_duplicate_position_refused(shared_data: Path, tmp_path: Path) -> None:
    files = _copy(shared_data, tmp_path)
    ds = pydicom.dcmread(files[4])
    ds.ImagePositionPatient = list(pydicom.dcmread(files[3]).ImagePositionPatient)
    ds.save_as(files[4])
    with pytest.raises(GeometryError, match=r"two frames at the same position"):
        _suv(tmp_path / "image")


def test_tilted_gantry_kept_as_sheared_grid(tmp_path: Path) -> None:
    tilt = np.deg2rad(15.0)
    series = pet_series(5)  # 4 mm pixels, slices 4 mm apart along the table (z)
    for k, ds in enumerate(series):
        ds.GantryDetectorTilt = "15"
        ds.ImageOrientationPatient = [1, 0, 0, 0, float(np.cos(tilt)), float(np.sin(tilt))]
        ds.ImagePositionPatient = [0.0, 0.0, 4.0 * k]
    save_series(series, tmp_path / "tilt")
    (entry,) = index_dicom_folder(tmp_path / "tilt").of_kind(SeriesKind.PT)
    volume = read_series_volume(entry).volume
    # each slice centre where its header puts it; voxel = 4 x 4 mm pixel times the
    # 4 cos(15 deg) mm distance between the tilted planes (by hand)
    assert volume.index_to_patient_mm([3, 0, 0]).tolist() == pytest.approx([0, 0, 12])
    assert volume.voxel_volume_ml == pytest.approx(64 * np.cos(tilt) / 1000, rel=1e-9)
