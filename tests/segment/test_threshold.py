"""Segmentation methods on analytic phantoms, each rule checked against its definition."""

from __future__ import annotations

import numpy as np
import pytest

from petdx.errors import GeometryError, InputValidationError
from petdx.image import Volume
from petdx.segment import (
    Connectivity,
    a50_threshold,
    connected_components,
    fixed_threshold,
    percent_of_max,
    percist_threshold_suv,
    region_grow,
    remove_small_components,
)
from tests.quantify.phantoms import ball, grid


def _two_spheres() -> Volume:
    """Background 1; sphere A (SUV 10, r 12 mm) and sphere B (SUV 4, r 8 mm), 2 mm voxels."""
    volume = grid((30, 30, 40), spacing_mm=(2.0, 2.0, 2.0), fill=1.0)
    a = ball(volume, (20.0, 30.0, 30.0), 12.0)
    b = ball(volume, (60.0, 30.0, 30.0), 8.0)
    values = np.where(a, 10.0, np.where(b, 4.0, 1.0)).astype(np.float32)
    return volume.with_array(values)


def test_fixed_threshold_is_inclusive() -> None:
    volume = _two_spheres()
    mask = np.asarray(fixed_threshold(volume, threshold_suv=4.0).array)
    assert np.array_equal(mask, volume.array >= 4.0)  # B's voxels (exactly 4) included
    assert not np.asarray(fixed_threshold(volume, threshold_suv=4.0001).array)[
        volume.array == 4
    ].any()


def test_percent_of_max_keeps_the_hottest_component_only() -> None:
    volume = _two_spheres()
    region = volume.with_array(np.ones(volume.shape, dtype=bool))
    for percent in (41.0, 50.0):
        mask = np.asarray(percent_of_max(volume, region=region, percent=percent).array)
        # 41 % and 50 % of 10 are above the background (1) and below A (10); B (4) is a
        # separate component and is left out.
        assert np.array_equal(mask, volume.array == 10.0)
    low = np.asarray(percent_of_max(volume, region=region, percent=5.0).array)
    assert low.all()  # 0.5 < background: everything is one component


def test_percist_threshold_formula() -> None:
    """Wahl 2009: 1.5 x liver mean + 2 SD; blood pool 2.0 x mean + 2 SD."""
    assert percist_threshold_suv(liver_mean=2.0, liver_sd=0.3) == pytest.approx(3.6)
    assert percist_threshold_suv(blood_pool_mean=1.5, blood_pool_sd=0.2) == pytest.approx(3.4)
    assert percist_threshold_suv(
        liver_mean=2.0, liver_sd=0.3, blood_pool_mean=9.0, blood_pool_sd=9.0
    ) == pytest.approx(3.6)
    with pytest.raises(InputValidationError, match="usable liver"):
        percist_threshold_suv()
    with pytest.raises(InputValidationError, match="liver SD"):
        percist_threshold_suv(liver_mean=2.0)
    with pytest.raises(InputValidationError, match="blood-pool SD"):
        percist_threshold_suv(blood_pool_mean=2.0)


def test_a50_threshold_definition() -> None:
    """T = 0.5 (peak - bg) + bg: with peak 10 and bg 1 the threshold is 5.5."""
    volume = _two_spheres()
    values = np.asarray(volume.array).copy()
    values[ball(volume, (20.0, 30.0, 30.0), 6.0)] = 12.0  # hot core
    volume = volume.with_array(values)
    region = volume.with_array(np.ones(volume.shape, dtype=bool))
    mask = np.asarray(a50_threshold(volume, region=region, background_suv=1.0, suv_peak=10.0).array)
    assert np.array_equal(mask, values >= 5.5)
    with pytest.raises(InputValidationError, match="not above the background"):
        a50_threshold(volume, region=region, background_suv=11.0, suv_peak=10.0)


def test_region_grow_from_seed() -> None:
    volume = _two_spheres()
    seed = tuple(int(v) for v in np.round(volume.patient_mm_to_index((60.0, 30.0, 30.0))))
    grown = np.asarray(region_grow(volume, seed_index_zyx=seed, lower_suv=3.0).array)
    assert np.array_equal(grown, volume.array == 4.0)  # B only; A is not connected
    assert not np.asarray(region_grow(volume, seed_index_zyx=seed, lower_suv=5.0).array).any()
    with pytest.raises(InputValidationError, match="outside the PET grid"):
        region_grow(volume, seed_index_zyx=(99, 0, 0), lower_suv=1.0)
    with pytest.raises(InputValidationError, match="lower"):
        region_grow(volume, seed_index_zyx=seed, lower_suv=3.0, upper_suv=2.0)


@pytest.mark.parametrize(("connectivity", "expected"), [(6, 3), (18, 2), (26, 1)])
def test_connectivity(connectivity: int, expected: int) -> None:
    """Three voxels: b shares an edge with a, c only a corner with b."""
    volume = grid((3, 3, 3))
    mask = np.zeros(volume.shape, dtype=bool)
    mask[0, 0, 0] = mask[0, 1, 1] = mask[1, 2, 2] = True
    labels = connected_components(volume.with_array(mask), connectivity=connectivity)
    assert int(np.asarray(labels.array).max()) == expected
    assert Connectivity(connectivity).value == connectivity


def test_connectivity_refused() -> None:
    volume = grid((2, 2, 2))
    with pytest.raises(InputValidationError, match="expected 6"):
        connected_components(volume, connectivity=8)


def test_minimum_volume() -> None:
    volume = grid((10, 10, 10), spacing_mm=(2.0, 2.0, 2.0))  # 0.008 ml voxels
    labels = np.zeros(volume.shape, dtype=np.uint32)
    labels[0:5, 0:5, 0:5] = 1  # 125 voxels = 1.0 ml
    labels[8:10, 8:10, 8:10] = 2  # 8 voxels = 0.064 ml
    kept = remove_small_components(volume.with_array(labels), min_volume_ml=1.0)
    assert set(np.unique(np.asarray(kept.array))) == {0, 1}  # >= keeps exactly 1.0 ml
    with pytest.raises(InputValidationError, match=">= 0 ml"):
        remove_small_components(volume.with_array(labels), min_volume_ml=-1)


def test_methods_refuse_bad_regions() -> None:
    volume = _two_spheres()
    empty = volume.with_array(np.zeros(volume.shape, dtype=bool))
    with pytest.raises(InputValidationError, match="seed region is empty"):
        percent_of_max(volume, region=empty)
    with pytest.raises(InputValidationError, match="percentage"):
        percent_of_max(volume, region=volume.with_array(np.ones(volume.shape, bool)), percent=0)
    with pytest.raises(GeometryError, match="not on the PET grid"):
        fixed_threshold(volume, threshold_suv=1.0, region=grid((2, 2, 2)))
    with pytest.raises(InputValidationError, match="finite"):
        fixed_threshold(volume, threshold_suv=float("nan"))
