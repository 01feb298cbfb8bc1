"""AUC of clustered data (several lesions per patient): Obuchowski's nonparametric method.

A patient (cluster) may hold diseased and non-diseased lesions (units). The AUC is the usual
Mann-Whitney AUC over all diseased-non-diseased pairs of units, within and across patients.
Its variance treats patients, not lesions, as independent (Obuchowski 1997): with, for
patient i, ``V10_i`` the sum of the placement values of its m_i diseased lesions and ``V01_i``
the sum over its n_i non-diseased lesions (placements as in DeLong's method),

    S10 = I10 / ((I10 - 1) M) * sum_i (V10_i - m_i A)^2
    S01 = I01 / ((I01 - 1) N) * sum_i (V01_i - n_i A)^2
    S11 = I / (I - 1)         * sum_i (V10_i - m_i A)(V01_i - n_i A)
    var(A) = S10 / M + S01 / N + 2 S11 / (M N)

with M, N the total numbers of diseased and non-diseased lesions, I10 / I01 the numbers of
patients holding at least one diseased / non-diseased lesion, and I the number of patients.
With one lesion per patient this is exactly DeLong's variance. Two scores read on the same
lesions are compared with the covariance built the same way (cross-products of the two
scores' cluster sums; S11 enters as S11_12 + S11_21).

References
----------
Obuchowski NA. Nonparametric analysis of clustered ROC curve data. Biometrics
1997;53:567-578. doi:10.2307/2533958
The formulas match the author's reference R code (Cleveland Clinic Lerner Research Institute,
``funcs_clusteredROC.R``), as adapted in the FDA iMRMC project (``doAUCcluster``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats._validate import FloatArray, IntArray
from petdx.stats.delong import (
    AucComparison,
    delong_components,
    paired_comparison,
    zero_variance_warning,
)
from petdx.stats.enums import RocDirection
from petdx.stats.results import Estimate

__all__ = ["ObuchowskiComponents", "obuchowski_auc", "obuchowski_paired_test"]

OBUCHOWSKI_METHOD = "Obuchowski 1997 clustered (patients as clusters), normal CI clipped to [0, 1]"


@dataclass(frozen=True, eq=False)
class ObuchowskiComponents:
    """AUC and per-cluster sums of placement values (one entry per cluster)."""

    auc: float
    v10: FloatArray  # sum of placements of the cluster's diseased units
    v01: FloatArray  # sum of placements of the cluster's non-diseased units
    m: FloatArray  # diseased units per cluster
    n: FloatArray  # non-diseased units per cluster

    @property
    def n_clusters(self) -> int:
        return int(np.count_nonzero(self.m + self.n))

    def _factors(self) -> tuple[float, float, float, float, float]:
        i10 = float(np.count_nonzero(self.m))
        i01 = float(np.count_nonzero(self.n))
        i = float(self.n_clusters)
        return i10, i01, i, float(self.m.sum()), float(self.n.sum())

    def covariance(self, other: ObuchowskiComponents) -> float:
        """Covariance of this AUC and ``other`` (same units and clusters); variance if same."""
        i10, i01, i, big_m, big_n = self._factors()
        if i10 < 2 or i01 < 2:
            return math.nan
        x1 = self.v10 - self.m * self.auc
        y1 = self.v01 - self.n * self.auc
        x2 = other.v10 - other.m * other.auc
        y2 = other.v01 - other.n * other.auc
        s10 = i10 / ((i10 - 1) * big_m) * float(np.dot(x1, x2))
        s01 = i01 / ((i01 - 1) * big_n) * float(np.dot(y1, y2))
        s11_12 = i / (i - 1) * float(np.dot(x1, y2))
        s11_21 = i / (i - 1) * float(np.dot(x2, y1))
        return s10 / big_m + s01 / big_n + (s11_12 + s11_21) / (big_m * big_n)

    @property
    def variance(self) -> float:
        return self.covariance(self)


def _clusters(truth: Any, cluster: Any) -> tuple[IntArray, int]:
    codes, k = _validate.cluster_index(cluster)
    if codes.size != np.asarray(truth).size:
        raise InputValidationError(
            f"cluster: expected one cluster id per unit ({np.asarray(truth).size}); got "
            f"{codes.size}."
        )
    return codes, k


def obuchowski_components(
    truth: Any,
    score: Any,
    cluster: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
) -> ObuchowskiComponents:
    """Per-cluster placement sums of Obuchowski's method (see the module docstring)."""
    t = _validate.labels(truth, "truth")
    codes, k = _clusters(t, cluster)
    comp = delong_components(t, score, direction=direction)
    v10 = np.bincount(codes[t], weights=comp.v10, minlength=k).astype(np.float64)
    v01 = np.bincount(codes[~t], weights=comp.v01, minlength=k).astype(np.float64)
    m = np.bincount(codes[t], minlength=k).astype(np.float64)
    n = np.bincount(codes[~t], minlength=k).astype(np.float64)
    return ObuchowskiComponents(comp.auc, v10, v01, m, n)


def obuchowski_auc(
    truth: Any,
    score: Any,
    cluster: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    name: str = "auc",
) -> Estimate:
    """AUC of clustered units with Obuchowski's (1997) variance and a normal CI in [0, 1].

    Parameters
    ----------
    truth : array of bool or 0/1
        Disease status of every unit (lesion).
    score : array of float
    cluster : array
        Cluster (patient) id of every unit, any hashable values.
    direction : {"higher", "lower"}
    confidence_level : float

    Returns
    -------
    Estimate
        ``se`` is Obuchowski's standard error, ``n`` the number of units and ``n_clusters``
        the number of patients. Fewer than two clusters holding each class: NaN interval and
        a warning.
    """
    level = _validate.confidence(confidence_level)
    comp = obuchowski_components(truth, score, cluster, direction=direction)
    n_units = int(comp.m.sum() + comp.n.sum())
    var = comp.variance
    if math.isnan(var):
        reason = f"{name}: Obuchowski's variance needs two clusters with each class"
        return Estimate.undefined(
            name,
            OBUCHOWSKI_METHOD,
            n_units,
            reason,
            estimate=comp.auc,
            n_clusters=comp.n_clusters,
            confidence_level=level,
        )
    se = math.sqrt(max(var, 0.0))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return Estimate(
        name,
        comp.auc,
        max(0.0, comp.auc - z * se),
        min(1.0, comp.auc + z * se),
        OBUCHOWSKI_METHOD,
        n_units,
        level,
        se=se,
        n_clusters=comp.n_clusters,
        warnings=zero_variance_warning(name, comp.auc, se),
    )


def obuchowski_paired_test(
    truth: Any,
    score_1: Any,
    score_2: Any,
    cluster: Any,
    *,
    direction_1: RocDirection | str = RocDirection.HIGHER,
    direction_2: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    labels: tuple[str, str] = ("score_1", "score_2"),
) -> AucComparison:
    """Compare two AUCs read on the same clustered units (Obuchowski 1997), z test.

    ``var(A1 - A2) = var(A1) + var(A2) - 2 cov(A1, A2)`` with Obuchowski's clustered
    (co)variances; the CI of the difference is normal.
    """
    level = _validate.confidence(confidence_level)
    c1 = obuchowski_components(truth, score_1, cluster, direction=direction_1)
    c2 = obuchowski_components(truth, score_2, cluster, direction=direction_2)
    return paired_comparison(
        "Obuchowski 1997 clustered paired z test",
        labels,
        (c1.auc, c2.auc),
        c1.variance,
        c2.variance,
        c1.covariance(c2),
        (int(c1.m.sum()), int(c1.n.sum())),
        level,
        n_clusters=c1.n_clusters,
        undefined_reason="clustered AUC test needs two clusters with each class",
    )
