"""Retention-index CIs from image noise (petdx.quantify.noise, issue 17)."""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import product

import numpy as np
import pytest
from scipy import ndimage

from petdx.image import Volume
from petdx.quantify import LesionSource, ReferenceSpec, ScanInput, quantify_visit
from petdx.quantify.noise import (
    RetentionVerdict,
    correlation_factor,
    noise_model,
    retention_ci_pct,
    retention_verdict,
)
from petdx.segment import reference_from_mask


def _brute_force_factor(mask: np.ndarray, rho: tuple[float, float, float]) -> float:
    """S / N^2 by the double sum over voxel pairs, written out."""
    points = np.argwhere(mask)
    total = 0.0
    for p, q in product(points, points):
        k = p - q
        total += math.prod(r ** (int(d) ** 2) for r, d in zip(rho, k, strict=True))
    return total / len(points) ** 2


def test_correlation_factor_against_the_double_sum() -> None:
    rng = np.random.default_rng(0)
    mask = rng.random((6, 5, 4)) < 0.4
    for rho in [(0.0, 0.0, 0.0), (0.3, 0.5, 0.1), (0.8, 0.2, 0.6)]:
        assert correlation_factor(mask, rho) == pytest.approx(_brute_force_factor(mask, rho))
    # white noise: the mean of N voxels has variance sigma^2 / N
    assert correlation_factor(mask, (0.0, 0.0, 0.0)) == pytest.approx(1 / mask.sum())


def test_variance_of_block_means_of_smoothed_noise() -> None:
    """Gaussian-smoothed white noise: the predicted variance of the mean over a 5x5x5 block
    (from the lag-one correlation measured in one region) against the empirical variance of
    many disjoint block means of the same field."""
    rng = np.random.default_rng(1)
    field = ndimage.gaussian_filter(rng.standard_normal((100, 100, 100)), sigma=1.2)
    field = 10.0 + field / field.std()  # mean 10, voxel SD 1
    grid = Volume(field.astype(np.float32), np.diag([4.0, 4.0, 4.0, 1.0]))
    region = np.zeros(field.shape, bool)
    region[10:40, 10:40, 10:40] = True
    ref = replace(
        reference_from_mask(grid, "liver", grid.with_array(region)), mask=grid.with_array(region)
    )
    model = noise_model(field, (4.0, 4.0, 4.0), ref)
    assert model is not None
    block = np.ones((5, 5, 5), bool)
    predicted = model.variance(10.0, correlation_factor(block, model.rho))
    means = field.reshape(20, 5, 20, 5, 20, 5).mean(axis=(1, 3, 5)).ravel()
    assert predicted == pytest.approx(float(np.var(means)), rel=0.12)
    # ignoring the correlation would understate it several-fold
    assert model.variance(10.0, 1 / 125) < 0.3 * predicted


def test_ci_and_verdict_by_hand() -> None:
    # m1 = 4, m2 = 5, var 0.04 each: v = 0.04/16 + 0.04/25 = 0.0041
    half = 1.959964 * math.sqrt(0.0041)
    low, high = retention_ci_pct(4.0, 5.0, 0.04, 0.04)  # type: ignore[misc]
    assert low == pytest.approx(100 * (1.25 * math.exp(-half) - 1))
    assert high == pytest.approx(100 * (1.25 * math.exp(half) - 1))
    assert retention_verdict((low, high)) is RetentionVerdict.RETAINED
    assert retention_verdict((-9.0, -1.0)) is RetentionVerdict.WASHOUT
    assert retention_verdict((-1.0, 3.0)) is RetentionVerdict.INDETERMINATE
    assert retention_ci_pct(0.0, 5.0, 0.04, 0.04) is None
    assert retention_ci_pct(4.0, None, 0.04, 0.04) is None
    assert retention_verdict(None) is None


def _scan(mean: np.ndarray, rng: np.random.Generator, uid: str) -> ScanInput:
    """Poisson-like noise (variance proportional to the mean), correlated over voxels."""
    noise = ndimage.gaussian_filter(rng.standard_normal(mean.shape), sigma=0.8)
    noise /= noise.std()
    values = mean + np.sqrt(0.09 * mean) * noise
    return ScanInput(Volume(values.astype(np.float32), np.diag([4.0, 4.0, 4.0, 1.0])), uid, 1.0)


def test_coverage_of_the_voi_mean_ci_on_noisy_phantoms() -> None:
    """A 20 mm lesion 6 -> 7.2 SUV (RI +20 %) in a uniform liver-like background, on 60
    noisy scan pairs: the 95 % CIs of the carried-VOI mean contain the true +20 % for
    90-99 % of the pairs (binomial spread for 60 pairs at 95 %: about 89-100 %)."""
    rng = np.random.default_rng(7)
    shape = (40, 40, 40)
    zz, yy, xx = np.indices(shape)
    lesion = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 12) ** 2 <= 2.5**2
    liver = (zz - 20) ** 2 + (yy - 20) ** 2 + (xx - 30) ** 2 <= 3.75**2
    voi = np.zeros(shape, np.uint32)
    voi[lesion] = 1
    inside = 0
    verdicts = []
    for k in range(60):
        before = np.where(lesion, 6.0, 2.0)
        after = np.where(lesion, 7.2, 2.0)
        scans = [_scan(before, rng, f"a{k}"), _scan(after, rng, f"b{k}")]
        result = quantify_visit(
            scans,
            LesionSource(voi_labels=scans[0].suv.with_array(voi)),
            method="voi",
            references=ReferenceSpec(masks={"liver": scans[0].suv.with_array(liver)}),
            align=False,
        )
        follow = result.to_dict()["lesions"][0]["follow_up"][0]
        low, high = follow["retention_index_voi_mean_ci_pct"]
        inside += low <= 20.0 <= high
        verdicts.append(follow["retention_voi_mean_verdict"])
        assert follow["retention_index_ci_pct"][1] - follow["retention_index_ci_pct"][0] > (
            high - low
        )
    assert 54 <= inside <= 59
    assert verdicts.count("retained") >= 40  # the change is about 3 CI half-widths
    table = result.table()
    later = table[table["time_point"] == 2].iloc[0]
    assert later["retention_index_voi_mean_ci_low_pct"] == pytest.approx(low)
    assert later["retention_voi_mean_verdict"] == verdicts[-1]
