"""Local-contrast hot spots: the peak image and the line-opening background against
brute-force oracles, and the rule's behaviour on analytic phantoms (a small focus is hot; a
vessel, an organ and its edge are not)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from petdx.errors import GeometryError, InputValidationError
from petdx.image import Volume
from petdx.segment import (
    LINE_DIRECTIONS,
    SUV_PEAK_RADIUS_MM,
    line_opening_background,
    local_contrast,
    peak_image,
)
from tests.quantify.phantoms import ball, centres_mm, grid


def _random_volume(shape: tuple[int, int, int], spacing: tuple[float, float, float]) -> Volume:
    rng = np.random.default_rng(20240611)
    volume = grid(shape, spacing_mm=spacing, origin_mm=(-7.0, 3.0, 11.0))
    return volume.with_array(rng.gamma(2.0, 1.0, size=shape).astype(np.float32))


def test_peak_image_matches_brute_force_sphere_means() -> None:
    """Every voxel: mean over voxels whose centre is within 6.2035 mm (image voxels only),
    by an explicit double loop over voxel centres, on an anisotropic grid."""
    volume = _random_volume((6, 7, 8), (4.0, 3.0, 2.5))
    centres = centres_mm(volume).reshape(-1, 3)
    values = np.asarray(volume.array, dtype=np.float64).ravel()
    expected = np.empty(values.size)
    for n, centre in enumerate(centres):
        inside = [
            values[m]
            for m in range(values.size)
            if np.linalg.norm(centres[m] - centre) <= SUV_PEAK_RADIUS_MM
        ]
        expected[n] = sum(inside) / len(inside)
    got = np.asarray(peak_image(volume).array, dtype=np.float64).ravel()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def _half_length(volume: Volume, direction: tuple[int, int, int], length_mm: float) -> int:
    step = np.linalg.norm(volume.affine[:3, :3] @ np.asarray(direction, dtype=float))
    return max(1, round(length_mm / (2 * step)))


def _brute_force_background(volume: Volume, length_mm: float) -> np.ndarray:
    """max over directions d, over segments of 2h+1 voxels along d containing x (clipped to
    the image), of the minimum over the segment: the definition, by explicit loops."""
    values = np.asarray(volume.array, dtype=np.float64)
    shape = np.asarray(values.shape)
    out = np.full(values.shape, -np.inf)

    def inside(p: np.ndarray) -> bool:
        return bool(np.all(p >= 0) and np.all(p < shape))

    for x in itertools.product(*(range(n) for n in values.shape)):
        xa = np.asarray(x)
        for direction in LINE_DIRECTIONS:
            d = np.asarray(direction)
            h = _half_length(volume, direction, length_mm)
            for s in range(-h, h + 1):
                centre = xa + s * d
                if not inside(centre):
                    continue
                points = [centre + t * d for t in range(-h, h + 1) if inside(centre + t * d)]
                low = min(values[tuple(p)] for p in points)
                out[x] = max(out[x], low)
    return out


@pytest.mark.parametrize(
    ("spacing", "length_mm"), [((4.0, 4.0, 4.0), 12.0), ((5.0, 2.0, 3.0), 10.0)]
)
def test_line_opening_matches_brute_force(
    spacing: tuple[float, float, float], length_mm: float
) -> None:
    volume = _random_volume((6, 7, 8), spacing)
    expected = _brute_force_background(volume, length_mm)
    got = np.asarray(line_opening_background(volume, length_mm=length_mm).array)
    np.testing.assert_array_equal(got, expected.astype(np.float32))


def _phantom() -> tuple[Volume, dict[str, np.ndarray]]:
    """4 mm voxels, body SUV 1. An organ (64 mm cube, SUV 3), a vessel along z (radius 6 mm,
    SUV 2.5, the whole length), a small focus (radius 6 mm, SUV 2.5) and a focus in the organ
    (radius 6 mm, SUV 6)."""
    volume = grid((40, 40, 40), fill=1.0)
    centres = centres_mm(volume)
    organ = np.all(np.abs(centres - np.array([40.0, 40.0, 40.0])) <= 32.0, axis=-1)
    radial = np.linalg.norm(centres[..., :2] - np.array([120.0, 40.0]), axis=-1)
    vessel = radial <= 6.0
    focus = ball(volume, (120.0, 120.0, 110.0), 6.0)
    organ_focus = ball(volume, (40.0, 40.0, 40.0), 6.0)
    values = np.ones(volume.shape)
    values[organ] = 3.0
    values[vessel] = 2.5
    values[focus] = 2.5
    values[organ_focus] = 6.0
    parts = {"organ": organ, "vessel": vessel, "focus": focus, "organ_focus": organ_focus}
    return volume.with_array(values.astype(np.float32)), parts


def test_a_focus_is_hot_a_vessel_an_organ_and_its_edge_are_not() -> None:
    volume, parts = _phantom()
    reference = volume.with_array(ball(volume, (40.0, 20.0, 20.0), 8.0))  # in the organ
    found = local_contrast(volume, reference, noise_sigmas=0.0)
    hot = np.asarray(found.hot.array)
    assert hot[parts["focus"]].any()
    assert hot[parts["organ_focus"]].any()
    assert not hot[parts["vessel"]].any()
    assert not hot[parts["organ"] & ~ball(volume, (40.0, 40.0, 40.0), 20.0)].any()
    near_foci = ball(volume, (120.0, 120.0, 110.0), 14.0) | ball(volume, (40.0, 40.0, 40.0), 14.0)
    assert not (hot & ~near_foci).any()
    assert found.reference_peak_sd_suv == 0.0
    assert found.to_dict()["contrast"] == 1.4
    assert "hot voxels" in str(found)


def test_rule_is_the_documented_composition() -> None:
    """hot = (P >= c B) & (P - B >= k sigma) & (P >= min_suv), sigma = SD_ref sqrt(B/mean_ref),
    with the reference statistics of the peak image recomputed here."""
    rng = np.random.default_rng(7)
    volume, _ = _phantom()
    noisy = volume.with_array(
        (np.asarray(volume.array) * rng.normal(1.0, 0.1, volume.shape)).astype(np.float32)
    )
    mask = ball(noisy, (40.0, 20.0, 20.0), 10.0)
    found = local_contrast(noisy, noisy.with_array(mask), contrast=1.3, noise_sigmas=3.0)
    p = np.asarray(peak_image(noisy).array, dtype=np.float64)
    b = np.asarray(
        line_opening_background(peak_image(noisy), length_mm=36.0).array, dtype=np.float64
    )
    mean, sd = p[mask].mean(), p[mask].std()
    assert found.reference_peak_mean_suv == pytest.approx(mean)
    assert found.reference_peak_sd_suv == pytest.approx(sd)
    sigma = sd * np.sqrt(np.maximum(b, 0) / mean)
    expected = (p >= 1.3 * b) & (p - b >= 3.0 * sigma) & (p >= 1.0)
    np.testing.assert_allclose(np.asarray(found.noise_sd.array), sigma, rtol=1e-5)
    assert np.array_equal(np.asarray(found.hot.array), expected)


def test_noise_criterion_and_floor() -> None:
    """A focus of SUV 0.6 in background 0.2: contrast 3, but below the whole-body average
    (SUV 1) it is not hot unless the floor is lowered; a large noise SD hides it too."""
    volume = grid((30, 30, 30), fill=0.2)
    focus = ball(volume, (60.0, 60.0, 60.0), 6.0)
    values = np.where(focus, 0.6, 0.2)
    reference = ball(volume, (20.0, 20.0, 20.0), 8.0)
    values[reference] = np.where(np.indices(volume.shape).sum(axis=0) % 2 == 0, 2.5, 1.5)[reference]
    volume = volume.with_array(values.astype(np.float32))
    ref = volume.with_array(reference)
    assert not np.asarray(local_contrast(volume, ref).hot.array)[focus].any()
    low_floor = local_contrast(volume, ref, min_suv=0.0, noise_sigmas=0.0)
    assert np.asarray(low_floor.hot.array)[focus].any()
    noisy_rule = local_contrast(volume, ref, min_suv=0.0, noise_sigmas=50.0)
    assert not np.asarray(noisy_rule.hot.array)[focus].any()


def test_local_contrast_errors() -> None:
    volume, _ = _phantom()
    ref = volume.with_array(ball(volume, (40.0, 20.0, 20.0), 8.0))
    with pytest.raises(InputValidationError, match=r"contrast 0\.9: expected a finite ratio >= 1"):
        local_contrast(volume, ref, contrast=0.9)
    with pytest.raises(InputValidationError, match="noise_sigmas -1"):
        local_contrast(volume, ref, noise_sigmas=-1.0)
    with pytest.raises(InputValidationError, match="min_suv nan"):
        local_contrast(volume, ref, min_suv=float("nan"))
    with pytest.raises(InputValidationError, match="background_length_mm 0"):
        local_contrast(volume, ref, background_length_mm=0.0)
    with pytest.raises(InputValidationError, match="reference region is empty"):
        local_contrast(volume, volume.with_array(np.zeros(volume.shape, bool)))
    with pytest.raises(GeometryError, match="reference region is not on the PET grid"):
        local_contrast(volume, grid((5, 5, 5)))
    cold = volume.with_array(np.zeros(volume.shape, np.float32))
    with pytest.raises(InputValidationError, match="mean SUVpeak is 0"):
        local_contrast(cold, ref)
