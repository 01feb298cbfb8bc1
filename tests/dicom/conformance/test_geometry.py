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
from scipy import ndimage

from petdx.dicom import SeriesKind, index_dicom_folder, read_series_volume
from petdx.errors import GeometryError, GeometryWarning
from petdx.suv import compute_suv, suv_volume
from tests.factories import pet_series, save_series


def _copy(shared_data: Path, tmp_path: Path) -> list[Path]:
    source = shared_data / "mirp-sts-suv" / "STS_002" / "PET" / "dicom" / "image"
    target = tmp_path / "image"
    target.parent.mkdir(parents=True, exist_ok=True)
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


def _centres_from_headers(files: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Voxel centres (k, j, i, 3) in LPS mm and each slice's voxel volume (ml), worked out
    from every file's own ImagePositionPatient, ImageOrientationPatient and PixelSpacing
    (DICOM PS3.3 C.7.6.2.1.1; a slice's extent runs half-way to each neighbour and the end
    slices extend by their one gap), independently of petdx's Volume."""
    headers = [pydicom.dcmread(p, stop_before_pixels=True) for p in files]
    row = np.array(headers[0].ImageOrientationPatient[:3], dtype=float)
    col = np.array(headers[0].ImageOrientationPatient[3:], dtype=float)
    normal = np.cross(row, col)
    headers.sort(key=lambda ds: float(np.dot(np.array(ds.ImagePositionPatient, float), normal)))
    dy, dx = (float(v) for v in headers[0].PixelSpacing)
    jj, ii = np.mgrid[0 : int(headers[0].Rows), 0 : int(headers[0].Columns)]
    in_plane = ii[..., None] * dx * row + jj[..., None] * dy * col
    origins = np.array([np.array(ds.ImagePositionPatient, float) for ds in headers])
    centres = origins[:, None, None, :] + in_plane[None]
    along = origins @ normal
    extents = np.empty(len(along))
    extents[1:-1] = (along[2:] - along[:-2]) / 2.0
    extents[0], extents[-1] = along[1] - along[0], along[-1] - along[-2]
    return centres, dx * dy * extents / 1000.0


def _sphere_mean(suv: np.ndarray, centres: np.ndarray, at: tuple[int, ...]) -> float:
    """Mean SUV of the voxels whose centres lie within the 1 cm^3 sphere's radius of the
    centre of voxel ``at`` (brute force over a generous window)."""
    radius = 10.0 * (3.0 / (4.0 * np.pi)) ** (1.0 / 3.0)
    window = tuple(slice(max(0, a - 4), a + 5) for a in at)
    distance = np.linalg.norm(centres[window] - centres[at], axis=-1)
    return float(suv[window][distance <= radius].mean())


def test_uneven_slices_measured_on_true_positions(shared_data: Path, tmp_path: Path) -> None:
    """MTV, TLG, SUVmean, SUVpeak, centroid and diameter of a lesion across unevenly spaced
    slices equal a brute-force computation from the files' own positions (issue 12, build 2:
    petdx keeps the true slice positions instead of resampling onto the mean step)."""
    from petdx.quantify.metrics import quantify_lesions

    files = _copy(shared_data, tmp_path)
    # around STS_002's hottest slice (19): steps of 3.30, 3.19, 3.32 and 3.29 mm among 3.27
    _shift(files, {17: 0.03, 19: -0.08, 21: 0.05, 23: 0.02})
    (entry,) = index_dicom_folder(tmp_path / "image").of_kind(SeriesKind.PT)
    with pytest.warns(GeometryWarning, match=r"true slice positions are kept"):
        pet = read_series_volume(entry)
    suv = suv_volume(pet, compute_suv(pet))
    assert suv.slice_positions_mm is not None
    values = np.asarray(suv.array, dtype=np.float64)
    hottest = np.unravel_index(int(np.argmax(values)), values.shape)
    regions, _ = ndimage.label(values > 0.4 * values.max())
    lesion = regions == regions[hottest]
    assert np.ptp(np.flatnonzero(lesion.any(axis=(1, 2)))) >= 4  # spans the uneven steps
    (metrics,) = quantify_lesions(suv, suv.with_array(lesion.astype(np.int16)))

    centres, slice_ml = _centres_from_headers(files)
    voxel_ml = np.broadcast_to(slice_ml[:, None, None], values.shape)[lesion]
    mtv = float(voxel_ml.sum())
    tlg = float(np.sum(values[lesion] * voxel_ml))
    points = centres[lesion]
    indices = [tuple(int(v) for v in p) for p in np.argwhere(lesion)]
    peak_global = max(_sphere_mean(values, centres, at) for at in indices)
    diameter = max(float(np.linalg.norm(points - p, axis=1).max()) for p in points)

    assert metrics.volume_ml == pytest.approx(mtv, rel=1e-9)
    assert metrics.tlg == pytest.approx(tlg, rel=1e-9)
    assert metrics.suv_mean == pytest.approx(tlg / mtv, rel=1e-9)
    assert metrics.suv_max == float(values.max())
    assert metrics.suv_peak_local == pytest.approx(
        _sphere_mean(values, centres, tuple(int(v) for v in hottest)), rel=1e-9
    )
    assert metrics.suv_peak_global == pytest.approx(peak_global, rel=1e-9)
    assert metrics.centroid_mm == pytest.approx(tuple(points.mean(axis=0)), abs=1e-6)
    assert metrics.suv_max_mm == pytest.approx(tuple(centres[hottest]), abs=1e-6)
    assert metrics.longest_diameter_mm == pytest.approx(diameter, rel=1e-9)
    # against the clean twin (same pixels, even 3.27 mm steps): the same voxels, SUVmax and
    # SUVpeak; MTV and TLG differ only by the true slice extents (0.08 mm steps: < 0.1 %)
    clean_files = _copy(shared_data, tmp_path / "clean")
    (clean_entry,) = index_dicom_folder(clean_files[0].parent).of_kind(SeriesKind.PT)
    clean_pet = read_series_volume(clean_entry)
    clean_suv = suv_volume(clean_pet, compute_suv(clean_pet))
    assert clean_suv.slice_positions_mm is None
    (twin,) = quantify_lesions(clean_suv, clean_suv.with_array(lesion.astype(np.int16)))
    assert (metrics.voxels, metrics.suv_max) == (twin.voxels, twin.suv_max)
    assert metrics.suv_peak_local == pytest.approx(twin.suv_peak_local, rel=1e-6)
    assert metrics.suv_peak_global == pytest.approx(twin.suv_peak_global, rel=1e-6)
    for key in ("volume_ml", "tlg", "suv_mean"):
        assert getattr(metrics, key) == pytest.approx(getattr(twin, key), rel=1e-3), key
        assert getattr(metrics, key) != getattr(twin, key), key  # the true geometry counts
    # the mean-step grid would have put the hottest voxel off by the accumulated shift
    assert suv.index_to_patient_mm(np.array(hottest, dtype=float)) == pytest.approx(
        centres[hottest], abs=1e-6
    )
    assert suv.patient_mm_to_index(centres[hottest]) == pytest.approx(hottest, abs=1e-9)
