"""Scanner model: resolution kernel, counting noise, int16 storage, bed timing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from petdx.errors import InputValidationError
from petdx.nuclides import NUCLIDES
from petdx.simulate.scanner import (
    BedTiming,
    ScannerModel,
    blur,
    quantise_int16_per_slice,
)

F18, GA68 = NUCLIDES["F-18"], NUCLIDES["Ga-68"]


def test_blur_of_a_point_has_the_binned_gaussian_variance() -> None:
    """A Gaussian integrated over bins of width h has variance sigma^2 + h^2/12 (Sheppard's
    correction); the kernel is cut at 3 sigma, which removes about 3 % of the variance."""
    volume = np.zeros((41, 41, 41), dtype=np.float32)
    volume[20, 20, 20] = 1.0
    fwhm, step = 8.8, 4.0
    out = blur(volume, (step, step, step), fwhm)
    assert float(out.sum()) == pytest.approx(1.0, rel=1e-5)
    profile = out[20, 20, :].astype(np.float64)
    profile /= profile.sum()
    offsets = (np.arange(41) - 20) * step
    variance = float(np.sum(profile * offsets**2))
    sigma = fwhm / (2 * math.sqrt(2 * math.log(2)))
    assert variance == pytest.approx(sigma**2 + step**2 / 12, rel=0.05)


def test_positron_range_coarsens_ga68() -> None:
    """68Ga adds its range in quadrature to the 18F system resolution (assumed Gaussian of
    FWHM sqrt(2.9^2 - 0.6^2) mm, Conti & Eriksson 2016 mean ranges)."""
    model = ScannerModel()
    assert model.resolution_fwhm_mm(F18) == model.system_fwhm_mm
    expected = math.hypot(model.system_fwhm_mm, math.sqrt(2.9**2 - 0.6**2))
    assert model.resolution_fwhm_mm(GA68) == pytest.approx(expected)
    with pytest.raises(InputValidationError, match="Lu-177 is not a positron emitter"):
        model.resolution_fwhm_mm(NUCLIDES["Lu-177"])


def _uniform_noise(level: float, *, beds: tuple[BedTiming, ...], seed: int) -> np.ndarray:
    model = ScannerModel(noise_correlation_fwhm_mm=0.0, system_fwhm_mm=0.0)
    activity = np.full((20, 40, 40), level)
    return model.acquire(
        activity,
        (4.0, 4.0, 4.0),
        nuclide=F18,
        beds=beds,
        body_weight_kg=75.0,
        rng=np.random.default_rng(seed),
    ).astype(np.float64)


def test_noise_variance_follows_counts() -> None:
    """Counting statistics: the variance grows with the activity (4x activity, 4x
    variance), the noise has zero mean, and a bed acquired one half-life later (fewer
    counts) has twice the variance."""
    one_bed = (BedTiming(0, 20, 0.0, 180.0),)
    low = _uniform_noise(5000.0, beds=one_bed, seed=1)
    high = _uniform_noise(20000.0, beds=one_bed, seed=2)
    assert low.mean() == pytest.approx(5000.0, rel=0.005)
    assert high.var() / low.var() == pytest.approx(4.0, rel=0.05)
    half_life = F18.half_life_s
    two_beds = (BedTiming(0, 10, 0.0, 180.0), BedTiming(10, 20, half_life, 180.0))
    image = _uniform_noise(5000.0, beds=two_beds, seed=3)
    assert image[10:].var() / image[:10].var() == pytest.approx(2.0, rel=0.07)


def test_quantisation_per_slice() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(3000.0, 1500.0, (5, 16, 16)).astype(np.float32)
    image[2] = 0.0
    image[3] *= 1e3
    stored, slopes = quantise_int16_per_slice(image)
    assert stored.dtype == np.int16
    assert slopes[2] == "1"
    for k, text in enumerate(slopes):
        assert len(text) <= 16
        slope = float(text)
        assert np.max(np.abs(stored[k] * slope - image[k])) <= 0.5 * slope * (1 + 1e-6)
        if k != 2:
            assert np.max(np.abs(stored[k])) == 32000


def test_bed_timings_cover_every_slice_once() -> None:
    beds = ScannerModel(bed_step_mm=150.0).bed_timings(277, 4.0, 180.0)
    covered = [k for bed in beds for k in range(bed.first_slice, bed.stop_slice)]
    assert covered == list(range(277))
    assert [bed.start_offset_s for bed in beds] == [180.0 * b for b in range(len(beds))]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"system_fwhm_mm": -1.0}, "system FWHM -1.0 mm"),
        ({"noise_alpha": -0.1}, r"alpha \(noise_alpha\) -0.1"),
    ],
)
def test_scanner_model_validation(options: dict[str, float], message: str) -> None:
    with pytest.raises(InputValidationError, match=message):
        ScannerModel(**options)
