"""Volume geometry and NIfTI conversion (LPS in petdx, RAS in NIfTI)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from petdx.errors import GeometryError
from petdx.image import Volume, same_grid


def _volume() -> Volume:
    affine = np.eye(4)
    affine[:3, 0] = [0, 0, 3.0]  # k -> +z (superior)
    affine[:3, 1] = [0, 2.0, 0]  # j -> +y (posterior)
    affine[:3, 2] = [1.5, 0, 0]  # i -> +x (left)
    affine[:3, 3] = [-10, 20, 30]
    array = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    return Volume(array, affine)


def test_nifti_round_trip(tmp_path: Path) -> None:
    volume = _volume()
    path = tmp_path / "v.nii.gz"
    nib.save(volume.to_nifti(), path)
    back = Volume.from_nifti(nib.load(path))
    assert same_grid(volume, back)
    assert np.array_equal(volume.array, back.array)


def test_nifti_axes_are_ras_by_nibabel() -> None:
    """nibabel (independent) must read the exported axes as L->R flipped: i runs to patient
    left (+x LPS) which is 'L' in RAS terms; j runs posterior ('P'); k superior ('S')."""
    image = _volume().to_nifti()
    assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
    world = image.affine @ np.array([2, 3, 1, 1.0])  # NIfTI index order (i, j, k)
    lps = _volume().index_to_patient_mm([1, 3, 2])
    assert world[:3] == pytest.approx([-lps[0], -lps[1], lps[2]])


def test_spacing_and_voxel_volume() -> None:
    volume = _volume()
    assert volume.spacing_mm == pytest.approx((3.0, 2.0, 1.5))
    assert volume.voxel_volume_ml == pytest.approx(0.009)


def test_rejects_bad_shapes() -> None:
    with pytest.raises(GeometryError, match="3-D array"):
        Volume(np.zeros((2, 2)), np.eye(4))
    with pytest.raises(GeometryError, match="singular"):
        Volume(np.zeros((2, 2, 2)), np.zeros((4, 4)))
    with pytest.raises(GeometryError, match="does not match"):
        _volume().with_array(np.zeros((1, 1, 1)))


def _uneven() -> Volume:
    volume = _volume()
    return Volume(volume.array, volume.affine, (0.0, 3.0, 6.2, 9.0))  # mean step 3 mm


def test_uneven_slices_map_to_their_true_positions() -> None:
    volume = _uneven()
    # slice 2 sits 6.2 mm above slice 0 along k (+z), not 6.0 mm as the affine alone says
    assert volume.index_to_patient_mm([2, 0, 0]).tolist() == pytest.approx([-10, 20, 36.2])
    assert volume.index_to_patient_mm([1.5, 1, 2]).tolist() == pytest.approx([-7, 22, 34.6])
    assert volume.index_to_patient_mm([-1, 0, 0]).tolist() == pytest.approx([-10, 20, 27])
    assert volume.index_to_patient_mm([4, 0, 0]).tolist() == pytest.approx([-10, 20, 41.8])
    rng = np.random.default_rng(3)
    index = rng.uniform(-1.5, 4.5, size=(50, 3))
    back = volume.patient_mm_to_index(volume.index_to_patient_mm(index))
    assert back == pytest.approx(index, abs=1e-9)


def test_uneven_slice_volumes_tile_the_scanned_length() -> None:
    volume = _uneven()
    pixel_ml = 2.0 * 1.5 / 1000.0
    # extents: 3 (end, its one gap), (3 + 3.2)/2, (3.2 + 2.8)/2, 2.8 (end)
    assert volume.slice_voxel_volumes_ml == pytest.approx(
        [3.0 * pixel_ml, 3.1 * pixel_ml, 3.0 * pixel_ml, 2.8 * pixel_ml], rel=1e-12
    )
    assert _volume().slice_voxel_volumes_ml == pytest.approx([3.0 * pixel_ml] * 4)


def test_uneven_crop_keeps_true_positions() -> None:
    volume = _uneven()
    part = volume.crop((slice(1, 4), slice(2, 5), slice(0, 6)))
    assert part.slice_positions_mm == pytest.approx((0.0, 3.2, 6.0))
    assert part.index_to_patient_mm([1, 0, 0]).tolist() == pytest.approx(
        volume.index_to_patient_mm([2, 2, 0]).tolist()
    )
    assert np.array_equal(part.array, volume.array[1:4, 2:5])


@pytest.mark.parametrize(
    ("positions", "message"),
    [
        ((0.0, 3.0, 6.0), "one position per slice"),
        ((1.0, 3.0, 6.0, 9.0), "starting at 0"),
        ((0.0, 3.0, 3.0, 9.0), "increase strictly"),
    ],
)
def test_uneven_positions_validated(positions: tuple[float, ...], message: str) -> None:
    volume = _volume()
    with pytest.raises(GeometryError, match=message):
        Volume(volume.array, volume.affine, positions)
