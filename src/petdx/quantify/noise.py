"""Image noise of a lesion estimate and the 95 % CI of its retention index (issue 17).

No truth is needed: each scan's reference region (liver, else blood pool) gives the noise
level and, from the lag-one differences of its voxels, the noise correlation; the variance
of a mean over a VOI follows from the VOI's voxels and that correlation; the CI of the
ratio of two scans' values from the delta method on the log scale. The method, its
citations and assumptions are in docs/quantify.md and docs/validation.md:

* voxel noise variance at local mean ``m``: ``sd_ref**2 * m / mean_ref`` (variance
  proportional to the mean);
* correlation between voxels ``k`` steps apart: ``prod_a rho_a ** (k_a**2)`` (Gaussian),
  ``rho_a`` the lag-one correlation along axis ``a`` inside the reference region
  (Forman et al. 1995; Kiebel et al. 1999);
* variance of the mean of ``N`` voxels: voxel variance x ``S / N**2``,
  ``S = sum_ij rho(r_i - r_j)`` (``N**2 / S`` independent resolution elements);
* ``v = var_1 / m_1**2 + var_2 / m_2**2``, CI ``100 (exp(ln(m_2/m_1) +/- 1.959964 sqrt v) - 1)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from petdx.segment import ReferenceRegion

__all__ = [
    "CI_Z",
    "NoiseModel",
    "RetentionVerdict",
    "correlated_sum",
    "correlation_factor",
    "noise_model",
    "retention_ci_pct",
    "retention_verdict",
]

#: Two-sided 95 % normal quantile.
CI_Z = 1.959964
#: Radius of the 1 ml SUVpeak sphere (mm), as petdx.quantify.peak.
_PEAK_RADIUS_MM = 6.2035
_MAX_RHO = 0.99
_KERNEL_FLOOR = 1e-4


class RetentionVerdict(StrEnum):
    """What a retention index's 95 % CI says."""

    RETAINED = "retained"
    WASHOUT = "washout"
    INDETERMINATE = "indeterminate"


@dataclass(frozen=True)
class NoiseModel:
    """One scan's noise, from its reference region.

    ``variance_per_suv``: voxel variance per unit of local mean SUV (``sd**2 / mean``);
    ``rho``: lag-one noise correlation along each array axis; ``peak_factor``: ``S / N**2``
    of the 1 ml SUVpeak sphere on this grid.
    """

    tissue: str
    variance_per_suv: float
    rho: tuple[float, float, float]
    peak_factor: float

    def variance(self, value: float, factor: float) -> float:
        """Noise variance of an estimate of mean ``value`` over voxels of ``S / N**2`` =
        ``factor``."""
        return self.variance_per_suv * max(value, 0.0) * factor

    def to_dict(self) -> dict[str, object]:
        return {
            "reference": self.tissue,
            "variance_per_suv": self.variance_per_suv,
            "lag_one_correlation": list(self.rho),
            "peak_factor": self.peak_factor,
        }


def _mean_square_step(
    values: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_], axis: int
) -> float | None:
    """Mean squared difference of neighbouring voxels along ``axis``, both inside ``mask``."""
    lo = [slice(None)] * 3
    hi = [slice(None)] * 3
    lo[axis] = slice(None, -1)
    hi[axis] = slice(1, None)
    both = mask[tuple(lo)] & mask[tuple(hi)]
    if both.sum() < 5:
        return None
    diff = values[tuple(lo)][both] - values[tuple(hi)][both]
    return float(np.mean(diff**2))


def _variance_and_correlation(
    values: npt.NDArray[np.float64], mask: npt.NDArray[np.bool_]
) -> tuple[float, tuple[float, float, float]]:
    """Noise variance and lag-one correlations in ``mask``.

    With correlated noise the region's sample variance about its own mean is biased low by
    the factor ``1 - S/N**2`` of the region; the variance is corrected by that factor and
    ``rho_a = 1 - D_a / (2 var)`` (``D_a`` the mean squared neighbour step) re-solved, a few
    fixed-point steps."""
    inside = values[mask]
    sample = float(np.var(inside))
    steps = [_mean_square_step(values, mask, axis) for axis in range(3)]
    variance = sample
    rho = (0.0, 0.0, 0.0)
    for _ in range(20):
        rho = tuple(  # type: ignore[assignment]
            0.0 if d is None else min(max(1.0 - d / (2.0 * variance), 0.0), _MAX_RHO) for d in steps
        )
        updated = sample / max(1.0 - correlation_factor(mask, rho), 0.05)
        if abs(updated - variance) <= 1e-6 * variance:
            break
        variance = updated
    return variance, rho


def _kernel(rho: float) -> npt.NDArray[np.float64]:
    if rho <= 0:
        return np.ones(1)
    reach = math.ceil(math.sqrt(math.log(_KERNEL_FLOOR) / math.log(rho)))
    k = np.arange(-reach, reach + 1, dtype=np.float64)
    return np.asarray(rho ** (k**2), dtype=np.float64)


def correlation_factor(mask: npt.NDArray[np.bool_], rho: tuple[float, float, float]) -> float:
    """``S / N**2`` of the voxels in ``mask`` under the separable Gaussian correlation."""
    inside = np.asarray(mask, dtype=bool)
    n = int(inside.sum())
    if n == 0:
        raise ValueError("correlation_factor: empty mask")
    idx = np.nonzero(inside)
    box = inside[tuple(slice(int(i.min()), int(i.max()) + 1) for i in idx)]  # the sum's support
    return correlated_sum(box, box, rho) / float(n * n)


def correlated_sum(
    a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_], rho: tuple[float, float, float]
) -> float:
    """``sum_{i in a, j in b} rho(r_i - r_j)`` for two masks on one grid (the covariance of
    the two regions' voxel sums per unit voxel variance)."""
    smoothed = np.asarray(a, dtype=np.float64)
    for axis, r in enumerate(rho):
        smoothed = ndimage.correlate1d(smoothed, _kernel(r), axis=axis, mode="constant")
    return float(smoothed[np.asarray(b, dtype=bool)].sum())


def _peak_mask(spacing_mm: tuple[float, float, float]) -> npt.NDArray[np.bool_]:
    reach = [math.floor(_PEAK_RADIUS_MM / s) for s in spacing_mm]
    grids = np.meshgrid(
        *[np.arange(-r, r + 1) * s for r, s in zip(reach, spacing_mm, strict=True)],
        indexing="ij",
    )
    return np.asarray(sum(g**2 for g in grids) <= _PEAK_RADIUS_MM**2)


def noise_model(
    suv: npt.NDArray[np.floating], spacing_mm: tuple[float, float, float], ref: ReferenceRegion
) -> NoiseModel | None:
    """The scan's noise from ``ref`` (its mask on the same grid as ``suv``); ``None`` when
    the region has no positive mean or no spread."""
    mask = np.asarray(ref.mask.array).astype(bool)
    values = np.asarray(suv, dtype=np.float64)
    inside = values[mask]
    if inside.size < 10 or not np.isfinite(inside).all():
        return None
    mean = float(inside.mean())
    if mean <= 0 or float(inside.var()) <= 0:
        return None
    variance, rho = _variance_and_correlation(values, mask)
    peak = correlation_factor(_peak_mask(spacing_mm), rho)
    return NoiseModel(ref.tissue.value, variance / mean, rho, peak)


def retention_ci_pct(
    m1: float | None,
    m2: float | None,
    var1: float | None,
    var2: float | None,
    *,
    extra_log_variance: float = 0.0,
) -> tuple[float, float] | None:
    """95 % CI (percent) of ``100 (m2/m1 - 1)``; ``None`` when an input is missing or a
    value is not positive. ``extra_log_variance`` is added to the variance of
    ``ln(m2/m1)`` (e.g. the recovery's uncertainty of a partial-volume-corrected index)."""
    if m1 is None or m2 is None or var1 is None or var2 is None:
        return None
    if not (m1 > 0 and m2 > 0 and math.isfinite(var1) and math.isfinite(var2)):
        return None
    half = CI_Z * math.sqrt(var1 / m1**2 + var2 / m2**2 + extra_log_variance)
    log_ratio = math.log(m2 / m1)
    return (100.0 * math.expm1(log_ratio - half), 100.0 * math.expm1(log_ratio + half))


def retention_verdict(ci: tuple[float, float] | None) -> RetentionVerdict | None:
    """``retained`` when the CI lies above 0, ``washout`` below, else ``indeterminate``."""
    if ci is None:
        return None
    if ci[0] > 0:
        return RetentionVerdict.RETAINED
    if ci[1] < 0:
        return RetentionVerdict.WASHOUT
    return RetentionVerdict.INDETERMINATE
