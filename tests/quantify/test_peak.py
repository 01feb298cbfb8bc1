"""SUVpeak against a brute-force oracle (explicit loops over voxels) and analytic phantoms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from petdx.errors import InputValidationError
from petdx.image import Volume
from petdx.quantify import suv_peak_global, suv_peak_local
from petdx.segment import SUV_PEAK_RADIUS_MM, ball_offsets
from tests.quantify.phantoms import ball, grid


def _oracle_sphere_mean(volume: Volume, centre: tuple[int, int, int], radius: float) -> float:
    """Mean over voxels whose centre is within radius of the centre voxel's centre: an
    explicit triple loop over the whole image (no kernel, no convolution)."""
    c = volume.index_to_patient_mm(np.asarray(centre, dtype=float))
    total, count = 0.0, 0
    nz, ny, nx = volume.shape
    for k in range(nz):
        for j in range(ny):
            for i in range(nx):
                p = volume.index_to_patient_mm(np.array([k, j, i], dtype=float))
                if math.dist(p, c) <= radius:
                    total += float(volume.array[k, j, i])
                    count += 1
    return total / count


def test_radius_is_one_millilitre() -> None:
    """4/3 pi r^3 = 1000 mm^3 (PERCIST's 1 cm^3 sphere)."""
    assert 4.0 / 3.0 * math.pi * SUV_PEAK_RADIUS_MM**3 == pytest.approx(1000.0, rel=1e-12)
    assert pytest.approx(6.2035, abs=5e-5) == SUV_PEAK_RADIUS_MM


def test_ball_offsets_match_brute_force_on_anisotropic_grid() -> None:
    volume = grid((9, 9, 9), spacing_mm=(3.27, 2.0, 5.46875))
    offsets = {tuple(o) for o in ball_offsets(volume.affine, SUV_PEAK_RADIUS_MM)}
    expected = {
        (dk, dj, di)
        for dk in range(-4, 5)
        for dj in range(-4, 5)
        for di in range(-4, 5)
        if math.sqrt((dk * 3.27) ** 2 + (dj * 2.0) ** 2 + (di * 5.46875) ** 2) <= SUV_PEAK_RADIUS_MM
    }
    assert offsets == expected


@pytest.mark.parametrize("spacing", [(4.0, 4.0, 4.0), (3.27, 2.7, 2.0), (2.0, 2.0, 2.0)])
def test_local_and_global_peak_against_oracle(spacing: tuple[float, float, float]) -> None:
    rng = np.random.default_rng(7)
    volume = grid((14, 13, 12), spacing_mm=spacing)
    volume = volume.with_array(rng.gamma(2.0, 1.0, volume.shape).astype(np.float32))
    lesion = np.zeros(volume.shape, dtype=bool)
    lesion[0:4, 3:8, 4:9] = True  # touches the image edge (k = 0): partial spheres
    mask = volume.with_array(lesion)
    local = suv_peak_local(volume, mask)
    masked = np.where(lesion, volume.array, -np.inf)
    hottest = np.unravel_index(int(np.argmax(masked)), volume.shape)
    assert local.centre_index_zyx == tuple(int(v) for v in hottest)
    assert local.suv_peak == pytest.approx(
        _oracle_sphere_mean(volume, local.centre_index_zyx, SUV_PEAK_RADIUS_MM), rel=1e-9
    )
    best = max(
        (_oracle_sphere_mean(volume, (k, j, i), SUV_PEAK_RADIUS_MM), (k, j, i))
        for k, j, i in np.argwhere(lesion)
    )
    found = suv_peak_global(volume, mask)
    assert found.suv_peak == pytest.approx(best[0], rel=1e-9)
    assert found.centre_index_zyx == best[1]
    assert found.suv_peak >= local.suv_peak


def test_uniform_sphere_has_peak_equal_to_its_value() -> None:
    """Analytic phantom: a uniform 30 mm sphere of SUV 5 in background 1; every 1 ml sphere
    centred deep enough inside lies wholly in it, so both peaks are exactly 5."""
    volume = grid((21, 21, 21), spacing_mm=(2.0, 2.0, 2.0), fill=1.0)
    inside = ball(volume, (20.0, 20.0, 20.0), 15.0)
    volume = volume.with_array(np.where(inside, 5.0, 1.0).astype(np.float32))
    mask = volume.with_array(inside)
    assert suv_peak_local(volume, mask).suv_peak == pytest.approx(5.0, abs=1e-6)
    assert suv_peak_global(volume, mask).suv_peak == pytest.approx(5.0, abs=1e-6)


def test_peak_of_empty_lesion_is_refused() -> None:
    volume = grid((5, 5, 5), fill=1.0)
    with pytest.raises(InputValidationError, match="empty lesion mask"):
        suv_peak_local(volume, volume.with_array(np.zeros(volume.shape, dtype=bool)))
    with pytest.raises(InputValidationError, match="shape"):
        suv_peak_global(volume, Volume(np.ones((2, 2, 2), dtype=bool), volume.affine))


def test_peak_on_unevenly_spaced_slices_uses_true_centres() -> None:
    """Slices 4.3 mm apart but one 4.6 mm step (7 % off, accepted with a warning on reading),
    3 mm pixels. The (1, 1, 1) diagonal neighbour across the 4.6 mm step lies at
    sqrt(4.6^2 + 18) = 6.25 mm, outside the 6.2035 mm sphere, while on the mean-step grid it
    would be inside (4.35^2 + 18 < 6.2035^2): the oracle places every voxel centre by hand
    from the true positions."""
    steps_mm = [4.3, 4.3, 4.6, 4.3, 4.3, 4.3]
    positions = np.concatenate([[0.0], np.cumsum(steps_mm)])
    uniform = grid((7, 9, 9), spacing_mm=(float(np.mean(steps_mm)), 3.0, 3.0))
    rng = np.random.default_rng(11)
    values = rng.gamma(2.0, 1.0, uniform.shape)
    values[3, 4, 4] = 40.0  # the hottest voxel, just below the wide step
    volume = Volume(values, uniform.affine, tuple(positions))
    lesion = np.zeros(volume.shape, dtype=bool)
    lesion[2:5, 3:6, 3:6] = True
    mask = volume.with_array(lesion)

    kk, jj, ii = np.meshgrid(*(np.arange(n) for n in volume.shape), indexing="ij")
    centres = np.stack([ii * 3.0, jj * 3.0, positions[kk]], axis=-1)  # LPS x, y, z by hand

    def oracle(at: tuple[int, int, int]) -> float:
        inside = np.linalg.norm(centres - centres[at], axis=-1) <= SUV_PEAK_RADIUS_MM
        return float(values[inside].mean())

    local = suv_peak_local(volume, mask)
    assert local.centre_index_zyx == (3, 4, 4)
    assert local.suv_peak == pytest.approx(oracle((3, 4, 4)), rel=1e-12)
    best = max((oracle((k, j, i)), (k, j, i)) for k, j, i in np.argwhere(lesion))
    found = suv_peak_global(volume, mask)
    assert found.suv_peak == pytest.approx(best[0], rel=1e-12)
    assert found.centre_index_zyx == best[1]
    # the mean-step grid holds other voxels in the sphere: the true positions matter here
    on_mean_grid = suv_peak_local(uniform.with_array(values), uniform.with_array(lesion))
    assert on_mean_grid.n_voxels > local.n_voxels
