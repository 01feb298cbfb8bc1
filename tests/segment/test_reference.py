"""Reference regions: shapes, placement from a centre or a mask, automatic liver placement,
homogeneity refusals."""

from __future__ import annotations

import math

import numpy as np
import pytest

from petdx.segment import (
    ReferenceRegionError,
    cylinder_mask,
    find_liver_centre,
    reference_from_centre,
    reference_from_mask,
    sphere_mask,
)
from tests.quantify.phantoms import ball, centres_mm, grid


def _body() -> tuple[object, dict[str, np.ndarray]]:
    """A torso-like phantom, 4 mm voxels, LPS: liver on the patient's right (x < 0), spleen
    on the left (x > 0, hotter), two kidneys (hot), bladder (hottest, midline, low),
    aorta (a vertical tube), background body 1.0; values with 5 % Gaussian noise."""
    volume = grid((60, 50, 70), origin_mm=(-138.0, -98.0, -120.0))
    pts = centres_mm(volume)
    x, y, z = pts[..., 0], pts[..., 1], pts[..., 2]
    body = ((x / 130) ** 2 + (y / 90) ** 2) <= 1.0
    organs = {
        "liver": (((x + 60) / 60) ** 2 + ((y + 5) / 50) ** 2 + ((z - 60) / 45) ** 2) <= 1,
        "spleen": ball(volume, (75.0, 20.0, 60.0), 28.0),
        "kidney_r": ball(volume, (-45.0, 40.0, 10.0), 16.0),
        "kidney_l": ball(volume, (45.0, 40.0, 10.0), 16.0),
        "bladder": ball(volume, (0.0, -10.0, -95.0), 25.0),
        "aorta": ((x - 10) ** 2 + (y - 25) ** 2 <= 8.0**2) & (z > -60),
    }
    values = np.where(body, 1.0, 0.0)
    for name, uptake in (
        ("liver", 2.5),
        ("spleen", 3.5),
        ("kidney_r", 8.0),
        ("kidney_l", 8.0),
        ("bladder", 20.0),
        ("aorta", 1.8),
    ):
        values = np.where(organs[name], uptake, values)
    rng = np.random.default_rng(5)
    values = values * (1 + 0.05 * rng.standard_normal(values.shape))
    return volume.with_array(values.astype(np.float32)), organs


def test_shapes_match_their_definitions() -> None:
    volume = grid((20, 20, 20), spacing_mm=(2.0, 2.5, 3.0))
    pts = centres_mm(volume)
    centre = np.array([21.3, 24.0, 19.0])
    sphere = np.asarray(sphere_mask(volume, centre, 15.0).array)
    assert np.array_equal(sphere, np.linalg.norm(pts - centre, axis=-1) <= 15.0)
    cyl = np.asarray(cylinder_mask(volume, centre, radius_mm=5.0, length_mm=20.0).array)
    rel = pts - centre
    expected = (np.abs(rel[..., 2]) <= 10.0) & (np.hypot(rel[..., 0], rel[..., 1]) <= 5.0)
    assert np.array_equal(cyl, expected)
    assert not np.asarray(sphere_mask(volume, (999.0, 0, 0), 5.0).array).any()


def test_reference_from_centre_and_mask() -> None:
    volume, organs = _body()
    liver = reference_from_centre(volume, "liver", (-60.0, -5.0, 60.0))
    assert liver.mean_suv == pytest.approx(2.5, rel=0.01)
    assert liver.cv == pytest.approx(0.05, abs=0.01)
    expected_ml = 4 / 3 * math.pi * 1.5**3
    assert liver.volume_ml == pytest.approx(expected_ml, rel=0.1)
    from_mask = reference_from_mask(volume, "liver", volume.with_array(organs["liver"]))
    assert from_mask.method == "mask"
    assert from_mask.mean_suv == pytest.approx(2.5, rel=0.01)
    blood = reference_from_centre(volume, "blood_pool", (10.0, 25.0, 20.0))
    assert blood.mean_suv == pytest.approx(1.8, rel=0.02)
    assert "cylinder" in blood.to_dict()["shape"]
    assert "liver" in str(liver)


def test_inhomogeneous_or_outside_regions_are_refused() -> None:
    volume, _ = _body()
    with pytest.raises(ReferenceRegionError, match="not homogeneous"):
        reference_from_centre(volume, "liver", (-30.0, 30.0, 15.0))  # liver/kidney boundary
    with pytest.raises(ReferenceRegionError, match="outside the image"):
        reference_from_centre(volume, "liver", (-138.0, -98.0, 60.0))
    with pytest.raises(ReferenceRegionError, match="empty"):
        reference_from_mask(volume, "muscle", volume.with_array(np.zeros(volume.shape, bool)))
    tiny = np.zeros(volume.shape, dtype=bool)
    tiny[30, 25, 35] = True
    with pytest.raises(ReferenceRegionError, match="only 1 voxels"):
        reference_from_mask(volume, "muscle", volume.with_array(tiny))


def test_automatic_liver_placement_lands_in_the_liver() -> None:
    volume, organs = _body()
    centre = find_liver_centre(volume)
    index = tuple(int(v) for v in np.round(volume.patient_mm_to_index(centre)))
    assert organs["liver"][index]
    region = reference_from_centre(volume, "liver", centre, method="auto")
    assert region.mean_suv == pytest.approx(2.5, rel=0.02)


def test_automatic_liver_placement_refuses_without_candidate() -> None:
    volume = grid((20, 20, 20))
    with pytest.raises(ReferenceRegionError, match="no body signal"):
        find_liver_centre(volume)
    rng = np.random.default_rng(1)
    noisy = volume.with_array(rng.gamma(1.0, 1.0, volume.shape).astype(np.float32))
    with pytest.raises(ReferenceRegionError, match="found no homogeneous region"):
        find_liver_centre(noisy)
