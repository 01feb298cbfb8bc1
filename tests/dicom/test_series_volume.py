"""Volume assembly: sorting, geometry checks, per-slice rescale, affine."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.dicom.series_volume import ImageSeries
from petdx.errors import DicomReadError, GeometryError, GeometryWarning, MissingAttributeError
from tests.factories import ct_series, pet_series, save_series


def _read(datasets: list[Dataset], folder: Path, kind: SeriesKind = SeriesKind.PT) -> ImageSeries:
    save_series(datasets, folder)
    (entry,) = index_dicom_folder(folder).of_kind(kind)
    return read_series_volume(entry)


def test_sorted_along_normal_whatever_the_file_order(tmp_path: Path) -> None:
    series = pet_series(6)
    for k, ds in enumerate(series):
        ds.PixelData = np.full((8, 8), k * 10, dtype="<i2").tobytes()
        ds.InstanceNumber = 6 - k  # instance numbers run against z
    shuffled = series[:]
    random.Random(3).shuffle(shuffled)
    pet = _read(shuffled, tmp_path)
    assert pet.volume.array[:, 0, 0].tolist() == [0, 10, 20, 30, 40, 50]
    z = [float(f.position_mm[2]) for f in pet.frames]
    assert z == sorted(z)


def test_per_slice_rescale_slope(tmp_path: Path) -> None:
    series = pet_series(3, stored_value=200)
    for k, ds in enumerate(series):
        ds.RescaleSlope = str(0.5 * (k + 1))
    pet = _read(series, tmp_path)
    assert pet.volume.array.dtype == np.float32
    assert pet.volume.array[:, 3, 3].tolist() == [100.0, 200.0, 300.0]


def test_rescale_intercept_applied_for_ct(tmp_path: Path) -> None:
    ct = _read(ct_series(3), tmp_path, SeriesKind.CT)
    assert np.all(ct.volume.array == 0.0)


def test_affine_axial_lps(tmp_path: Path) -> None:
    pet = _read(pet_series(4, spacing_mm=4.0), tmp_path)
    volume = pet.volume
    assert volume.spacing_mm == pytest.approx((4.0, 4.0, 4.0))
    first = np.array(pet.frames[0].position_mm)
    assert volume.index_to_patient_mm([0, 0, 0]).tolist() == pytest.approx(first.tolist())
    # one column right = +x (towards patient left), one row down = +y (posterior), one slice = +z
    assert (volume.index_to_patient_mm([1, 2, 3]) - first).tolist() == pytest.approx([12, 8, 4])
    assert volume.patient_mm_to_index(first + [12, 8, 4]).tolist() == pytest.approx([1, 2, 3])
    assert volume.voxel_volume_ml == pytest.approx(0.064)


def test_affine_oblique_matches_dicom_equation(tmp_path: Path) -> None:
    """P(i, j) = IPP + X * dc * i + Y * dr * j (PS3.3 C.7.6.2.1.1), for a rotated plane."""
    angle = np.deg2rad(20)
    row = np.array([np.cos(angle), np.sin(angle), 0.0])
    col = np.array([-np.sin(angle), np.cos(angle), 0.0])
    normal = np.cross(row, col)
    series = pet_series(3)
    for k, ds in enumerate(series):
        ds.ImageOrientationPatient = [*row.round(10), *col.round(10)]
        ds.ImagePositionPatient = list(np.array([5.0, -7.0, 2.0]) + normal * 3.0 * k)
        ds.PixelSpacing = [2.0, 1.5]  # between rows, between columns
    pet = _read(series, tmp_path)
    ipp0 = np.array([5.0, -7.0, 2.0])
    for k, j, i in [(0, 0, 0), (2, 5, 7), (1, 3, 0)]:
        expected = ipp0 + normal * 3.0 * k + row * 1.5 * i + col * 2.0 * j
        assert pet.volume.index_to_patient_mm([k, j, i]) == pytest.approx(expected)


def test_duplicate_positions_rejected(tmp_path: Path) -> None:
    series = pet_series(4)
    series[2].ImagePositionPatient = list(series[1].ImagePositionPatient)
    with pytest.raises(GeometryError, match=r"two frames at the same position"):
        _read(series, tmp_path)


def test_missing_slice_rejected(tmp_path: Path) -> None:
    series = pet_series(5)
    del series[2]
    with pytest.raises(GeometryError, match=r"not evenly spaced.*slice may be missing"):
        _read(series, tmp_path)


def test_mixed_orientation_rejected(tmp_path: Path) -> None:
    series = pet_series(3)
    series[1].ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    with pytest.raises(GeometryError, match=r"mixed ImageOrientationPatient"):
        _read(series, tmp_path)


def test_mixed_matrix_rejected(tmp_path: Path) -> None:
    series = pet_series(3)
    series[1].Rows = 4
    series[1].PixelData = np.zeros((4, 8), dtype="<i2").tobytes()
    with pytest.raises(GeometryError, match=r"mixed matrix sizes"):
        _read(series, tmp_path)


def test_missing_orientation_names_attribute(tmp_path: Path) -> None:
    series = pet_series(2)
    del series[1].ImageOrientationPatient
    with pytest.raises(MissingAttributeError, match=r"ImageOrientationPatient \(0020,0037\)"):
        _read(series, tmp_path)


def test_truncated_pixel_data(tmp_path: Path) -> None:
    paths = save_series(pet_series(3), tmp_path)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[:-50])
    (entry,) = index_dicom_folder(tmp_path).of_kind(SeriesKind.PT)
    with pytest.raises(DicomReadError, match=rf"{paths[1].name}.*(truncated|decoded)"):
        read_series_volume(entry)


def test_single_slice_uses_thickness(tmp_path: Path) -> None:
    pet = _read(pet_series(1), tmp_path)
    assert pet.volume.spacing_mm == pytest.approx((4.0, 4.0, 4.0))


def test_compressed_transfer_syntax_falls_back_to_pydicom(tmp_path: Path) -> None:
    from pydicom.uid import RLELossless

    series = pet_series(2, stored_value=321)
    for ds in series:
        ds.compress(RLELossless)
    pet = _read(series, tmp_path)
    assert np.all(pet.volume.array == 321)


def test_vendor_irregular_steps_read_with_warning(tmp_path: Path) -> None:
    # Issue 12 pattern (GE Discovery ST): steps of 3.27 mm, a few of 3.29 and one of 3.19.
    steps = [3.27] * 10 + [3.29, 3.29] + [3.27] * 5 + [3.19] + [3.27] * 3
    series = pet_series(len(steps) + 1)
    z = np.concatenate([[0.0], np.cumsum(steps)])
    for ds, zk in zip(series, z, strict=True):
        ds.ImagePositionPatient = [0.0, 0.0, round(float(zk), 2)]
    with pytest.warns(GeometryWarning, match=r"slice steps vary.*0\.08 mm \(2\.4[0-9]%\)"):
        pet = _read(series, tmp_path)
    # mean step by hand: (last - first) / (n - 1)
    assert pet.volume.spacing_mm[0] == pytest.approx(round(float(z[-1]), 2) / len(steps))


def test_step_more_than_ten_percent_off_rejected(tmp_path: Path) -> None:
    series = pet_series(6)
    for k, ds in enumerate(series):
        ds.ImagePositionPatient = [0.0, 0.0, 4.0 * k + (0.5 if k >= 3 else 0.0)]
    with pytest.raises(GeometryError, match=r"4\.5 mm, more than 10% off"):
        _read(series, tmp_path)
