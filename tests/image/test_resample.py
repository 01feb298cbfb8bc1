"""Resampling label maps onto the PET grid (``--resample nearest|fraction``) against
oracles computed here with numpy alone (no SimpleITK): exact sub-voxel block means on an
aligned finer grid, and per-voxel look-ups through the inverse affine on an oblique one."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.image.resample import MaskResampling, resample_labels_onto
from tests.quantify.phantoms import grid


def _fine_mask(offset_mm: float) -> tuple[Volume, np.ndarray]:
    """A 1 mm label map over the 4 mm PET grid ``grid((6, 6, 6))``, its origin
    ``offset_mm`` before the PET origin on every axis, with two lesions."""
    fine = grid((24, 24, 24), spacing_mm=(1.0, 1.0, 1.0), origin_mm=(-offset_mm,) * 3)
    k, j, i = np.mgrid[0:24, 0:24, 0:24]
    labels = np.zeros(fine.shape, np.uint32)
    labels[(k - 9.3) ** 2 + (j - 10.1) ** 2 + (i - 8.7) ** 2 <= 6.5**2] = 1
    labels[(k >= 16) & (k < 24) & (j < 8) & (i >= 12) & (i < 20)] = 2
    return fine.with_array(labels), labels


def test_fraction_rule_equals_block_means_on_an_aligned_grid() -> None:
    """Fine voxel centres at -1.5, -0.5, 0.5, 1.5 mm around each PET centre are exactly the
    4 x 4 x 4 sub-voxel centres, so each label's share is the block mean of the fine mask."""
    pet = grid((6, 6, 6))
    fine, labels = _fine_mask(1.5)
    result = resample_labels_onto(fine, pet, "fraction")
    assert result.sub_voxels_per_axis == (4, 4, 4)
    blocks = labels.reshape(6, 4, 6, 4, 6, 4)
    shares = np.stack([(blocks == v).mean(axis=(1, 3, 5)) for v in (1, 2)])
    expected = np.where(shares.max(axis=0) >= 0.5, np.argmax(shares, axis=0) + 1, 0)
    assert np.array_equal(result.labels.array, expected)
    assert result.volumes_ml[1][0] == pytest.approx(np.sum(labels == 1) / 1000.0)
    assert result.volumes_ml[2][1] == pytest.approx(np.sum(expected == 2) * 0.064)


def test_fraction_threshold_is_honoured() -> None:
    pet = grid((6, 6, 6))
    fine, labels = _fine_mask(1.5)
    strict = resample_labels_onto(fine, pet, "fraction", fraction_threshold=1.0)
    blocks = labels.reshape(6, 4, 6, 4, 6, 4)
    full = np.stack([(blocks == v).all(axis=(1, 3, 5)) for v in (1, 2)])
    assert np.array_equal(strict.labels.array, np.where(full[0], 1, np.where(full[1], 2, 0)))
    with pytest.raises(InputValidationError, match=r"fraction_threshold 0 .*\(0, 1\]"):
        resample_labels_onto(fine, pet, "fraction", fraction_threshold=0)
    with pytest.raises(InputValidationError, match="unknown resampling rule 'linear'"):
        resample_labels_onto(fine, pet, "linear")


def test_nearest_rule_takes_the_label_at_each_centre() -> None:
    """Fine centres at -1.3, -0.3, 0.7, 1.7 mm around each PET centre: the nearest is the
    second one (-0.3 mm) on every axis."""
    pet = grid((6, 6, 6))
    fine, labels = _fine_mask(1.3)
    result = resample_labels_onto(fine, pet, MaskResampling.NEAREST)
    assert np.array_equal(result.labels.array, labels[1::4, 1::4, 1::4])
    assert result.sub_voxels_per_axis is None


def _oblique_source() -> Volume:
    """A 1.1 x 0.9 x 0.8 mm grid rotated 20 degrees about z and 10 about x, axes reversed."""
    a, b = np.deg2rad(20.0), np.deg2rad(10.0)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rotation = rz @ rx
    affine = np.eye(4)
    affine[:3, 0] = -rotation[:, 2] * 1.1  # k: reversed
    affine[:3, 1] = rotation[:, 1] * 0.9
    affine[:3, 2] = rotation[:, 0] * 0.8
    affine[:3, 3] = [-16.0, -13.0, 32.0]
    rng = np.random.default_rng(5)
    labels = np.zeros((30, 34, 38), np.uint32)
    labels[5:25, 6:28, 8:30] = 1
    labels[12:18, 10:20, 12:22] = 2
    labels[rng.random(labels.shape) < 0.05] = 0  # ragged edges and holes
    return Volume(labels, affine)


def _lookup(source: Volume, points_lps: np.ndarray) -> np.ndarray:
    """The source label at each point, nearest voxel, 0 outside: numpy only."""
    inverse = np.linalg.inv(source.affine)
    index = np.rint(points_lps @ inverse[:3, :3].T + inverse[:3, 3]).astype(int)
    inside = np.all((index >= 0) & (index < np.asarray(source.shape)), axis=-1)
    out = np.zeros(points_lps.shape[:-1], np.uint32)
    out[inside] = np.asarray(source.array)[tuple(index[inside].T)]
    return out


def test_oblique_grid_against_inverse_affine_lookups() -> None:
    source = _oblique_source()
    pet = grid((12, 10, 11), spacing_mm=(3.0, 2.5, 2.0), origin_mm=(-20.0, -15.0, 5.0))
    kk, jj, ii = np.meshgrid(*(np.arange(n) for n in pet.shape), indexing="ij")
    centres = pet.index_to_patient_mm(np.stack([kk, jj, ii], axis=-1).astype(float))
    nearest = resample_labels_onto(source, pet, "nearest")
    agree = np.mean(np.asarray(nearest.labels.array) == _lookup(source, centres))
    assert agree > 0.999  # only exact rounding ties may differ
    assert min(np.sum(np.asarray(nearest.labels.array) == v) for v in (1, 2)) > 10

    result = resample_labels_onto(source, pet, "fraction")
    n = result.sub_voxels_per_axis
    assert n == (4, 4, 3)  # ceil(3 / 0.8), ceil(2.5 / 0.8), ceil(2 / 0.8)
    assert n is not None
    sub = [(np.arange(m) + 0.5) / m - 0.5 for m in n]
    offsets = np.stack(np.meshgrid(*sub, indexing="ij"), axis=-1).reshape(-1, 3)
    index = np.stack([kk, jj, ii], axis=-1)[..., None, :] + offsets
    looked_up = _lookup(source, pet.index_to_patient_mm(index))
    shares = np.stack([(looked_up == v).mean(axis=-1) for v in (1, 2)])
    expected = np.where(shares.max(axis=0) >= 0.5, np.argmax(shares, axis=0) + 1, 0)
    assert np.mean(np.asarray(result.labels.array) == expected) > 0.999
    before, after = result.volumes_ml[1]
    assert before == pytest.approx(np.sum(np.asarray(source.array) == 1) * 1.1 * 0.9 * 0.8e-3)
    covered_ml = float(shares[0].sum()) * pet.voxel_volume_ml  # label 1 inside the PET
    assert after == pytest.approx(covered_ml, rel=0.1)  # the 0.5 rule keeps the volume


def test_small_label_vanishing_is_reported() -> None:
    pet = grid((6, 6, 6))
    fine, labels = _fine_mask(1.5)
    labels = labels.copy()
    labels[1, 1, 1] = 3  # one 1 mm^3 voxel: 1/64 of a PET voxel
    result = resample_labels_onto(fine.with_array(labels), pet, "fraction")
    assert result.lost_labels == [3]
    assert "label(s) [3] vanished" in result.describe()
    assert "'fraction' rule" in result.describe()


def test_mask_outside_the_pet_gives_empty_labels() -> None:
    pet = grid((6, 6, 6))
    far = grid((4, 4, 4), origin_mm=(500.0, 0.0, 0.0)).with_array(np.ones((4, 4, 4), np.uint8))
    result = resample_labels_onto(far, pet, "nearest")
    assert not np.asarray(result.labels.array).any()
    assert result.lost_labels == [1]
