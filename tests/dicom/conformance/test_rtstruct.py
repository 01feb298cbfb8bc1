"""Conformance: RTSTRUCTs as treatment-planning systems and viewers write them (issue 12,
build 3).

The shared MIRP STS_002 structure set (written by MIM Software, ``PET/dicom/mask/RS.dcm``;
MIRP rasterised it into ``PET/nifti/mask/mask.nii.gz``: 555 voxels) is edited the ways other
tools differ: contours off the PET slice planes (RayStation and Eclipse draw on the CT's
slices), several contours per plane (holes as Eclipse writes them, islands, a keyhole
contour), contours on CT slices denser and sparser than the PET's, and contours outside the
field of view. Each expected mask is computed here from the MIRP mask and an independent
even-odd ray-casting test, not by petdx.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset

from petdx.dicom import (
    SeriesKind,
    index_dicom_folder,
    rasterize_roi,
    read_rtstruct,
    read_series_volume,
)
from petdx.image import Volume

ROI = "GTV_Mass_PET"


def _base(shared_data: Path) -> Path:
    return shared_data / "mirp-sts-suv" / "STS_002" / "PET"


@pytest.fixture(scope="module")
def pet(shared_data: Path) -> Volume:
    (entry,) = index_dicom_folder(_base(shared_data) / "dicom" / "image").of_kind(SeriesKind.PT)
    return read_series_volume(entry).volume


@pytest.fixture(scope="module")
def mirp_mask(shared_data: Path) -> np.ndarray:
    image = nib.load(_base(shared_data) / "nifti" / "mask" / "mask.nii.gz")
    return np.asarray(Volume.from_nifti(image).array) > 0


def _edited(
    shared_data: Path, target: Path, edit: Callable[[list[np.ndarray]], list[np.ndarray]]
) -> Path:
    """A copy of the MIM structure set whose ContourSequence went through ``edit``."""
    ds = pydicom.dcmread(_base(shared_data) / "dicom" / "mask" / "RS.dcm")
    roi_contour = ds.ROIContourSequence[0]
    contours = [
        np.asarray(c.ContourData, dtype=np.float64).reshape(-1, 3)
        for c in roi_contour.ContourSequence
    ]
    items = []
    for points in edit(contours):
        item = Dataset()
        item.ContourGeometricType = "CLOSED_PLANAR"
        item.NumberOfContourPoints = len(points)
        item.ContourData = [f"{v:.6g}" for v in np.asarray(points).ravel()]
        items.append(item)
    roi_contour.ContourSequence = items
    ds.save_as(target, enforce_file_format=True)
    return target


def _raster(path: Path, pet: Volume) -> tuple[np.ndarray, str]:
    raster = rasterize_roi(read_rtstruct(path).roi(ROI), pet)
    return np.asarray(raster.mask.array), " ".join(raster.warnings)


def _inside_even_odd(polygon_xy: np.ndarray, points_xy: np.ndarray) -> np.ndarray:
    """Crossing-number point-in-polygon test (W. R. Franklin's PNPOLY), numpy only."""
    x, y = points_xy[:, 0], points_xy[:, 1]
    inside = np.zeros(len(points_xy), dtype=bool)
    xs, ys = polygon_xy[:, 0], polygon_xy[:, 1]
    for a in range(len(polygon_xy)):
        b = a - 1
        crosses = (ys[a] > y) != (ys[b] > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = (xs[b] - xs[a]) * (y - ys[a]) / (ys[b] - ys[a]) + xs[a]
        inside ^= crosses & (x < at)
    return inside


def _plane_of(pet: Volume, z_mm: float) -> int:
    return round(float(pet.patient_mm_to_index([0.0, 0.0, z_mm])[0]))


def _centres_xy(pet: Volume, k: int) -> np.ndarray:
    jj, ii = np.mgrid[0 : pet.shape[1], 0 : pet.shape[2]]
    index = np.stack([np.full(jj.shape, k), jj, ii], axis=-1).reshape(-1, 3).astype(float)
    return pet.index_to_patient_mm(index)[:, :2]


def test_mim_original_equals_mirp(shared_data: Path, pet: Volume, mirp_mask: np.ndarray) -> None:
    mask, notes = _raster(_base(shared_data) / "dicom" / "mask" / "RS.dcm", pet)
    assert np.array_equal(mask, mirp_mask)
    assert int(mask.sum()) == 555
    assert notes == ""


@pytest.mark.parametrize("shift_mm", [0.8, -1.2])
def test_contours_off_the_slice_planes(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray, shift_mm: float
) -> None:
    """Contours drawn on CT slices up to 1.2 mm (0.37 of a 3.27 mm PET slice) away from the
    PET planes land on the nearest PET slice, with a note."""
    path = _edited(shared_data, tmp_path / "off.dcm", lambda cs: [c + [0, 0, shift_mm] for c in cs])
    mask, notes = _raster(path, pet)
    assert np.array_equal(mask, mirp_mask)
    assert "16 contour(s) between slices assigned to the nearest slice" in notes


def test_denser_ct_contours_are_combined(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray
) -> None:
    """Three CT planes (-1, 0, +1 mm) per PET slice with the same outline: their union."""
    path = _edited(
        shared_data,
        tmp_path / "dense.dcm",
        lambda cs: [c + [0, 0, dz] for c in cs for dz in (-1.0, 0.0, 1.0)],
    )
    mask, _ = _raster(path, pet)
    assert np.array_equal(mask, mirp_mask)


def test_sparser_ct_contours_leave_reported_gaps(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray
) -> None:
    path = _edited(shared_data, tmp_path / "sparse.dcm", lambda cs: cs[::2])
    mask, notes = _raster(path, pet)
    kept = {_plane_of(pet, float(c[0, 2])) for c in _mim_contours(shared_data)[::2]}
    expected = mirp_mask.copy()
    expected[[k for k in range(pet.shape[0]) if k not in kept]] = False
    assert np.array_equal(mask, expected)
    assert "7 PET slice(s) between the first and last contoured slice have no contour" in notes


def _mim_contours(shared_data: Path) -> list[np.ndarray]:
    ds = pydicom.dcmread(_base(shared_data) / "dicom" / "mask" / "RS.dcm")
    return [
        np.asarray(c.ContourData, dtype=np.float64).reshape(-1, 3)
        for c in ds.ROIContourSequence[0].ContourSequence
    ]


def _shrunk(points: np.ndarray, factor: float) -> np.ndarray:
    centre = points.mean(axis=0)
    return centre + (points - centre) * [factor, factor, 1.0]


def test_hole_island_and_keyhole(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray
) -> None:
    """Slice of the largest contour: an inner contour cuts a hole (Eclipse, RayStation), a
    contour inside the hole is an island again. Another slice: the same hole drawn as one
    keyhole contour (outer ring, a cut, the inner ring backwards)."""
    contours = _mim_contours(shared_data)
    sizes = [len(c) for c in contours]
    big = int(np.argmax(sizes))
    other = big + 1 if big + 1 < len(contours) else big - 1
    hole, island = _shrunk(contours[big], 0.55), _shrunk(contours[big], 0.25)
    ring = contours[other]
    inner = _shrunk(ring, 0.5)[::-1]
    start = int(np.argmin(np.linalg.norm(inner - ring[0], axis=1)))
    inner = np.roll(inner, -start, axis=0)
    keyhole = np.concatenate([ring, ring[:1], inner, inner[:1]])

    def edit(cs: list[np.ndarray]) -> list[np.ndarray]:
        out = [c for n, c in enumerate(cs) if n != other]
        return [*out, hole, island, keyhole]

    mask, notes = _raster(_edited(shared_data, tmp_path / "holes.dcm", edit), pet)
    expected = mirp_mask.copy()
    k = _plane_of(pet, float(contours[big][0, 2]))
    centres = _centres_xy(pet, k)
    cut = _inside_even_odd(hole[:, :2], centres) & ~_inside_even_odd(island[:, :2], centres)
    expected[k] &= ~cut.reshape(pet.shape[1:])
    k2 = _plane_of(pet, float(ring[0, 2]))
    centres2 = _centres_xy(pet, k2)
    expected[k2] = _inside_even_odd(keyhole[:, :2], centres2).reshape(pet.shape[1:])
    assert cut.sum() > 5  # the hole removes voxels
    assert np.array_equal(mask[k], expected[k])
    assert np.abs(mask[k2].astype(int) - expected[k2]).sum() <= 2  # centres on the cut line
    assert np.array_equal(np.delete(mask, [k, k2], 0), np.delete(expected, [k, k2], 0))
    assert "overlap without one enclosing" not in notes


def test_crossing_contours_are_reported(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray
) -> None:
    contours = _mim_contours(shared_data)
    shifted = contours[7] + [10.0, 0.0, 0.0]  # overlaps contour 7 partly
    path = _edited(shared_data, tmp_path / "crossing.dcm", lambda cs: [*cs, shifted])
    _, notes = _raster(path, pet)
    assert "1 pair(s) of contours on one plane overlap without one enclosing the other" in notes


def test_contours_outside_the_field_of_view(
    shared_data: Path, tmp_path: Path, pet: Volume, mirp_mask: np.ndarray
) -> None:
    """A contour 1 m to the side (an RTSTRUCT drawn on a larger CT) and one above the last
    PET slice: nothing of them on the PET; the lesion unchanged; both reported."""
    contours = _mim_contours(shared_data)
    beside = contours[5] + [1000.0, 0.0, 0.0]
    above = contours[5] + [0.0, 0.0, 500.0]
    half_out = contours[6] + [0.0, -float(np.ptp(contours[6][:, 1])) / 2 - 200.0, 0.0]
    path = _edited(shared_data, tmp_path / "fov.dcm", lambda cs: [*cs, beside, above, half_out])
    mask, notes = _raster(path, pet)
    k = _plane_of(pet, float(half_out[0, 2]))
    expected = mirp_mask.copy()
    expected[k] ^= _inside_even_odd(half_out[:, :2], _centres_xy(pet, k)).reshape(pet.shape[1:])
    assert np.array_equal(mask, expected)
    assert "1 contour(s) outside the image's slices dropped" in notes
    assert "extend beyond the image and were clipped" in notes
