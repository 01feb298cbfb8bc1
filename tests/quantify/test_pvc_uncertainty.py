"""Revision 1 of issue 17's retention index: the partial-volume-corrected carried-VOI mean
and its 95 % CI (``petdx.quantify.pvc``, docs/validation.md "Revision 1").

Oracle: a sphere of radius R and uptake T in a uniform background B, blurred by a 3-D
Gaussian of standard deviation s, has the closed form (the sphere's indicator convolved with
the Gaussian, radial distance r from the centre)

    f(r) = 1/2 [erf((R - r) / (s sqrt 2)) + erf((R + r) / (s sqrt 2))]
           + s / (r sqrt(2 pi)) [exp(-(R + r)^2 / (2 s^2)) - exp(-(R - r)^2 / (2 s^2))],

image = B + (T - B) f(r); at r = 0 it is the chi distribution's CDF with 3 degrees of freedom
at R / s (a check below). The image is sampled at the voxel centres (no discrete blur), so the
correction's own Gaussian filter is not the source of the image: the corrected mean must equal
T to within the voxelisation of the sphere.

CI propagation: correlated noise whose correlation is exactly the model's (white noise
smoothed by a Gaussian of s_n voxels has rho(k) = exp(-k^2 / (4 s_n^2)) per axis) and whose
variance is proportional to the local mean; the SD of the corrected mean over realisations
must match the delta method, and the CI of the corrected retention index must cover the true
index about 95 % of the time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage, special, stats

from petdx.image import Volume
from petdx.quantify.noise import retention_ci_pct
from petdx.quantify.pvc import FWHM_REL_SD, pvc_retention_ci_pct, two_compartment_pvc
from tests.quantify.phantoms import ball, centres_mm, grid

SPACING_MM = 2.0
FWHM_MM = 9.0
SIGMA_MM = FWHM_MM / (2.0 * math.sqrt(2.0 * math.log(2.0)))
RADIUS_MM = 10.0
CENTRE_MM = (50.0, 50.0, 50.0)
NOISE_SIGMA_VOX = 1.0


def _blurred_sphere(r: np.ndarray) -> np.ndarray:
    s, big_r = SIGMA_MM, RADIUS_MM
    r = np.maximum(r, 1e-6)
    root = s * math.sqrt(2.0)
    erf = 0.5 * (special.erf((big_r - r) / root) + special.erf((big_r + r) / root))
    gauss = np.exp(-((big_r + r) ** 2) / (2 * s * s)) - np.exp(-((big_r - r) ** 2) / (2 * s * s))
    return np.asarray(erf + s / (r * math.sqrt(2.0 * math.pi)) * gauss)


def _scene() -> tuple[Volume, np.ndarray, np.ndarray]:
    volume = grid((51, 51, 51), spacing_mm=(SPACING_MM,) * 3)
    r = np.linalg.norm(centres_mm(volume) - np.asarray(CENTRE_MM), axis=-1)
    return volume, ball(volume, CENTRE_MM, RADIUS_MM), _blurred_sphere(r)


def test_closed_form_is_the_blurred_sphere() -> None:
    """Provenance of the oracle: f(0) = chi(3 dof) CDF at R / s; the blur keeps the
    activity (integral of f over space = the sphere's volume)."""
    assert _blurred_sphere(np.array([0.0]))[0] == pytest.approx(
        stats.chi.cdf(RADIUS_MM / SIGMA_MM, 3), rel=1e-6
    )
    r = np.linspace(0.0, RADIUS_MM + 10 * SIGMA_MM, 20001)
    total = float(np.trapezoid(4 * np.pi * r**2 * _blurred_sphere(r), r))
    assert total == pytest.approx(4 / 3 * np.pi * RADIUS_MM**3, rel=1e-4)


@pytest.mark.parametrize(("t_lesion", "t_background"), [(6.0, 2.0), (2.4, 1.6), (1.0, 2.0)])
def test_corrected_mean_equals_the_true_activity_of_an_analytically_blurred_sphere(
    t_lesion: float, t_background: float
) -> None:
    volume, lesion, f = _scene()
    suv = volume.with_array(t_background + (t_lesion - t_background) * f)
    (estimate,) = two_compartment_pvc(suv, lesion.astype(np.int32), FWHM_MM).values()
    contrast = abs(t_lesion - t_background)
    # within 3 % of the contrast (voxelised 20 mm sphere on a 2 mm grid)
    assert estimate.lesion_suv == pytest.approx(t_lesion, abs=0.03 * contrast)
    assert estimate.background_suv == pytest.approx(t_background, abs=0.03 * contrast)
    # the measured VOI mean is far off: a 20 mm sphere at 9 mm FWHM recovers about 70 %
    assert abs(estimate.measured_suv - t_lesion) > 0.15 * contrast
    # lesion spill-out into the 0.5-1.5 FWHM shell is small (about 1 % here), so the
    # simpler spill-in formula (b = 0) would nearly agree; the 2 x 2 system is exact
    assert 0 < estimate.spill_out < 0.05


def _unit_noise(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.standard_normal(shape), NOISE_SIGMA_VOX, mode="wrap")
    # variance of white noise smoothed by a normalised Gaussian kernel of s voxels:
    # (sum of the squared 1-D kernel)^3 = (1 / (2 sqrt(pi) s))^3 for s >~ 1
    return field / (1.0 / (2.0 * math.sqrt(math.pi) * NOISE_SIGMA_VOX)) ** 1.5


def test_noise_sd_of_the_corrected_mean_matches_the_delta_method() -> None:
    volume, lesion, f = _scene()
    clean = 1.5 + (5.0 - 1.5) * f
    rho = (math.exp(-1.0 / (4.0 * NOISE_SIGMA_VOX**2)),) * 3
    k = 0.04  # voxel variance per unit SUV
    labels = lesion.astype(np.int32)
    (model,) = two_compartment_pvc(
        volume.with_array(clean), labels, FWHM_MM, noise_rho=rho
    ).values()
    predicted = model.variance(k)
    assert predicted is not None
    assert predicted > 0
    rng = np.random.default_rng(17)
    values = []
    for _ in range(150):
        noisy = clean + np.sqrt(k * clean) * _unit_noise(clean.shape, rng)
        (e,) = two_compartment_pvc(volume.with_array(noisy), labels, FWHM_MM).values()
        values.append(e.lesion_suv)
    sd = float(np.std(values, ddof=1))
    # 150 realisations: the SD's own relative SE is about 6 %
    assert sd == pytest.approx(math.sqrt(predicted), rel=0.2)
    # the VOI-shell covariance matters: leaving it out misstates the SD
    _f_ll, _f_bb, f_lb = model.noise_factors  # type: ignore[misc]
    assert f_lb > 0


def test_ci_of_the_corrected_retention_index_covers_the_truth() -> None:
    """Lesion +20 % (5.0 -> 6.0) while the background washes out (2.0 -> 1.3)."""
    volume, lesion, f = _scene()
    cleans = [t_b + (t_l - t_b) * f for t_l, t_b in ((5.0, 2.0), (6.0, 1.3))]
    rho = (math.exp(-1.0 / (4.0 * NOISE_SIGMA_VOX**2)),) * 3
    k = 0.04
    labels = lesion.astype(np.int32)
    models = [
        two_compartment_pvc(volume.with_array(c), labels, FWHM_MM, noise_rho=rho)[1] for c in cleans
    ]
    rng = np.random.default_rng(1717)
    covered = 0
    runs = 120
    for _ in range(runs):
        est = []
        for clean, model in zip(cleans, models, strict=True):
            noisy = clean + np.sqrt(k * clean) * _unit_noise(clean.shape, rng)
            (e,) = two_compartment_pvc(volume.with_array(noisy), labels, FWHM_MM).values()
            # the noisy realisation's means with the model's geometry and noise terms
            est.append(
                type(model)(
                    e.lesion_suv,
                    e.background_suv,
                    e.measured_suv,
                    e.shell_suv,
                    model.recovery,
                    model.spill_out,
                    model.noise_factors,
                    model.d_lesion_d_fwhm,
                    model.fwhm_mm,
                )
            )
        ci = pvc_retention_ci_pct(est[0], est[1], (k, k))
        assert ci is not None
        covered += ci[0] <= 20.0 <= ci[1]
    # 95 % nominal; with the FWHM term the CI is a little wider. 120 runs: SE ~ 2 %
    assert 0.88 <= covered / runs <= 1.0


def test_fwhm_uncertainty_widens_the_ci_when_lesion_and_background_change_differently() -> None:
    volume, lesion, f = _scene()
    rho = (0.3, 0.3, 0.3)
    labels = lesion.astype(np.int32)
    models = [
        two_compartment_pvc(
            volume.with_array(t_b + (t_l - t_b) * f), labels, FWHM_MM, noise_rho=rho
        )[1]
        for t_l, t_b in ((5.0, 2.0), (6.0, 1.3))
    ]
    with_fwhm = pvc_retention_ci_pct(models[0], models[1], (0.04, 0.04))
    noise_only = retention_ci_pct(
        models[0].lesion_suv,
        models[1].lesion_suv,
        models[0].variance(0.04),
        models[1].variance(0.04),
    )
    assert with_fwhm is not None
    assert noise_only is not None
    assert with_fwhm[1] - with_fwhm[0] > noise_only[1] - noise_only[0]
    # the derivative has the sign of physics: a wider PSF means less recovery, so a larger
    # correction of a lesion hotter than its background
    assert models[0].d_lesion_d_fwhm is not None
    assert models[0].d_lesion_d_fwhm > 0
    assert FWHM_REL_SD == 0.05  # the value fixed in docs/validation.md, revision 1


def test_no_ci_without_noise_terms_or_with_a_non_positive_corrected_value() -> None:
    volume, lesion, f = _scene()
    labels = lesion.astype(np.int32)
    plain = two_compartment_pvc(volume.with_array(2.0 + 3.0 * f), labels, FWHM_MM)[1]
    assert plain.variance(0.04) is None
    assert pvc_retention_ci_pct(plain, plain, (0.04, 0.04)) is None
    assert pvc_retention_ci_pct(None, plain, (0.04, 0.04)) is None
