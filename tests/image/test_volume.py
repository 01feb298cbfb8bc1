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
