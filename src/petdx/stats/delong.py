"""AUC with DeLong's variance (fast algorithm), and DeLong tests comparing two AUCs.

The AUC is the Mann-Whitney statistic: the probability that a diseased unit scores more
positively than a non-diseased one, ties counting one half; it equals the area under the
empirical ROC curve. DeLong et al. (1988) estimate its variance from *placement values*
(structural components): for a diseased unit, the fraction of non-diseased units it beats; for
a non-diseased unit, the fraction of diseased units that beat it. ``var(AUC) = S10/m + S01/n``
with S10, S01 the sample variances of the two sets of placements (m diseased, n non-diseased).

Sun & Xu (2014) showed that the placements are differences of midranks, so they follow from
one sort in O(N log N) instead of the O(m n) pairwise comparisons; petdx computes them from the
tie groups of :mod:`petdx.stats._ranking` (one ``argsort`` and cumulative sums).

* CI of one AUC: normal, ``AUC +/- z sqrt(var)``, clipped to [0, 1] (as pROC ``ci.auc``).
* Paired test (two scores on the same units): ``z = (A1 - A2) / sqrt(V1 + V2 - 2 C12)`` with
  the covariance of the placements; CI of the difference ``d +/- z sd`` (DeLong 1988; as pROC
  ``roc.test(paired=TRUE)``).
* Unpaired test (different units): ``t = (A1 - A2) / sqrt(V1 + V2)`` with Welch-Satterthwaite
  degrees of freedom ``(V1 + V2)^2 / (V1^2/(N1 - 1) + V2^2/(N2 - 1))`` (N = all units of a
  curve), p from Student's t, exactly as pROC ``roc.test(paired=FALSE, method="delong")``; its
  CI of the difference uses the same t quantile (pROC reports none).

References
----------
DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
receiver operating characteristic curves: a nonparametric approach. Biometrics
1988;44:837-845. doi:10.2307/2531595
Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under correlated
receiver operating characteristic curves. IEEE Signal Process Lett 2014;21:1389-1393.
doi:10.1109/LSP.2014.2337313
Robin X, et al. pROC: an open-source package for R and S+ to analyze and compare ROC curves.
BMC Bioinformatics 2011;12:77. doi:10.1186/1471-2105-12-77
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats._ranking import orient, tie_groups
from petdx.stats._validate import BoolArray, FloatArray
from petdx.stats.enums import RocDirection
from petdx.stats.results import (
    Estimate,
    collect_warnings,
    dataclass_dict,
    format_number,
    format_p,
    warn_undefined,
)

__all__ = [
    "AucComparison",
    "DeLongComponents",
    "delong_auc",
    "delong_components",
    "delong_paired_test",
    "delong_unpaired_test",
]

DELONG_METHOD = "DeLong (fast algorithm of Sun & Xu 2014), normal CI clipped to [0, 1]"


@dataclass(frozen=True, eq=False)
class DeLongComponents:
    """AUC and the DeLong placement values of every unit.

    ``v10`` has one value per diseased unit, ``v01`` one per non-diseased unit, both in input
    order of those units.
    """

    auc: float
    v10: FloatArray
    v01: FloatArray

    @property
    def n_positive(self) -> int:
        return int(self.v10.size)

    @property
    def n_negative(self) -> int:
        return int(self.v01.size)

    @property
    def variance(self) -> float:
        """``S10/m + S01/n``; NaN when a class has fewer than two units."""
        m, n = self.n_positive, self.n_negative
        if m < 2 or n < 2:
            return math.nan
        s10 = float(np.sum((self.v10 - self.auc) ** 2)) / (m - 1)
        s01 = float(np.sum((self.v01 - self.auc) ** 2)) / (n - 1)
        return s10 / m + s01 / n


def _prepare(truth: Any, score: Any, name: str) -> tuple[BoolArray, FloatArray]:
    t = _validate.labels(truth, "truth")
    s = _validate.scores(score, name)
    _validate.same_length(truth=t, **{name: s})
    return t, s


def _check_classes(t: BoolArray, what: str) -> None:
    n_pos = int(t.sum())
    if n_pos == 0 or n_pos == t.size:
        missing = "diseased (positive)" if n_pos == 0 else "non-diseased (negative)"
        raise InputValidationError(
            f"{what}: no {missing} units; an AUC needs both classes. Check the truth column "
            "and the value that marks a positive."
        )


def delong_components(
    truth: Any, score: Any, *, direction: RocDirection | str = RocDirection.HIGHER
) -> DeLongComponents:
    """AUC and DeLong placement values of every unit, by the fast midrank algorithm.

    Parameters
    ----------
    truth : array of bool or 0/1
        True for diseased (positive) units.
    score : array of float
        Test result; ``direction`` says which side is positive.
    direction : {"higher", "lower"}
        "higher": larger scores indicate disease (score >= threshold is positive).

    Raises
    ------
    InputValidationError
        Unequal lengths, non-finite scores, or a class with no unit.
    """
    t, s = _prepare(truth, score, "score")
    _check_classes(t, "score")
    d = _validate.as_enum(RocDirection, direction, "direction")
    groups = tie_groups(t, orient(s, d), unit_groups=True)
    v10_g, v01_g, auc = groups.placements()
    assert groups.unit_group is not None
    unit = groups.unit_group
    return DeLongComponents(auc, v10_g[unit[t]], v01_g[unit[~t]])


def delong_auc(
    truth: Any,
    score: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    name: str = "auc",
) -> Estimate:
    """AUC with its DeLong standard error and normal confidence interval clipped to [0, 1].

    Parameters
    ----------
    truth, score, direction
        As :func:`delong_components`.
    confidence_level : float
        Two-sided level (default 0.95).
    name : str
        Name of the estimate.

    Returns
    -------
    Estimate
        ``se`` is the DeLong standard error; ``n`` the number of units. With fewer than two
        units in a class the variance is undefined: NaN interval and a warning.
    """
    level = _validate.confidence(confidence_level)
    t, s = _prepare(truth, score, "score")
    _check_classes(t, "score")
    d = _validate.as_enum(RocDirection, direction, "direction")
    groups = tie_groups(t, orient(s, d))
    v10, v01, auc = groups.placements()
    m, n = groups.n_pos, groups.n_neg
    if m < 2 or n < 2:
        reason = f"{name}: DeLong variance needs at least two units in each class"
        return Estimate.undefined(name, DELONG_METHOD, t.size, reason, estimate=auc)
    s10 = float(np.dot(groups.pos, (v10 - auc) ** 2)) / (m - 1)
    s01 = float(np.dot(groups.neg, (v01 - auc) ** 2)) / (n - 1)
    se = math.sqrt(s10 / m + s01 / n)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    low, high = max(0.0, auc - z * se), min(1.0, auc + z * se)
    warns = zero_variance_warning(name, auc, se)
    return Estimate(name, auc, low, high, DELONG_METHOD, t.size, level, se=se, warnings=warns)


def zero_variance_warning(name: str, auc: float, se: float) -> tuple[str, ...]:
    """The warning of an AUC whose variance is 0 (AUC 0 or 1, or a marker that does not vary
    across the classes): its interval is the single point, as in pROC ``ci.auc``, which warns
    for AUC 1 that such an interval "can be misleading"."""
    if se != 0.0:
        return ()
    return (
        warn_undefined(
            f"{name}: the variance is 0 (AUC {format_number(auc)}: perfect separation or a "
            f"marker constant across the classes), so the interval is the single point "
            f"{format_number(auc)} and can be misleading"
        ),
    )


@dataclass(frozen=True)
class AucComparison:
    """Comparison of two AUCs: difference ``auc_1 - auc_2`` with its interval and test."""

    method: str
    label_1: str
    label_2: str
    auc_1: float
    auc_2: float
    difference: float
    ci_low: float
    ci_high: float
    se: float
    statistic: float
    statistic_name: str
    p_value: float
    n_positive: int
    n_negative: int
    df: float = math.nan
    correlation: float = math.nan
    n_clusters: int | None = None
    confidence_level: float = 0.95
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        level = f"{100 * self.confidence_level:g}%"
        df = f", df {self.df:.1f}" if not math.isnan(self.df) else ""
        return (
            f"AUC {self.label_1} {format_number(self.auc_1)} vs {self.label_2} "
            f"{format_number(self.auc_2)}: difference {format_number(self.difference)} "
            f"({level} CI {format_number(self.ci_low)} to {format_number(self.ci_high)}); "
            f"{self.statistic_name} = {format_number(self.statistic, 3)}{df}, "
            f"p = {format_p(self.p_value)} ({self.method})"
        )


def _normal_comparison(
    d: float, var: float, level: float
) -> tuple[float, float, float, float, tuple[str, ...]]:
    """z, p, CI of a difference with variance ``var`` (pROC's special case: 0/0 gives z=0)."""
    z_crit = float(stats.norm.ppf(0.5 + level / 2.0))
    sd = math.sqrt(var) if var > 0 else 0.0
    if sd == 0.0:
        if d == 0.0:
            msg = warn_undefined(
                "difference of AUCs is 0 with variance 0 (identical, constant or perfectly "
                "separating markers): z = 0 and p = 1 by pROC's rule, the interval a point"
            )
            return 0.0, 1.0, 0.0, 0.0, (msg,)
        msg = warn_undefined("difference of AUCs has zero variance; the test is degenerate")
        return math.copysign(math.inf, d), 0.0, d, d, (msg,)
    z = d / sd
    return z, float(2 * stats.norm.sf(abs(z))), d - z_crit * sd, d + z_crit * sd, ()


def paired_comparison(
    method: str,
    labels: tuple[str, str],
    aucs: tuple[float, float],
    var_1: float,
    var_2: float,
    cov_12: float,
    counts: tuple[int, int],
    level: float,
    *,
    n_clusters: int | None = None,
    undefined_reason: str,
) -> AucComparison:
    """z test and normal CI of ``auc_1 - auc_2`` from the two variances and the covariance
    (DeLong or Obuchowski); NaN variances give an undefined comparison with a warning."""
    d = aucs[0] - aucs[1]
    m, n = counts
    if math.isnan(var_1) or math.isnan(var_2):
        nan = math.nan
        return AucComparison(
            method,
            *labels,
            *aucs,
            d,
            nan,
            nan,
            nan,
            nan,
            "z",
            nan,
            m,
            n,
            n_clusters=n_clusters,
            confidence_level=level,
            warnings=(warn_undefined(undefined_reason),),
        )
    var = var_1 + var_2 - 2 * cov_12
    z, p, low, high, warnings = _normal_comparison(d, var, level)
    corr = cov_12 / math.sqrt(var_1 * var_2) if var_1 * var_2 > 0 else math.nan
    return AucComparison(
        method,
        *labels,
        *aucs,
        d,
        low,
        high,
        math.sqrt(max(var, 0.0)),
        z,
        "z",
        p,
        m,
        n,
        correlation=corr,
        n_clusters=n_clusters,
        confidence_level=level,
        warnings=warnings,
    )


def delong_paired_test(
    truth: Any,
    score_1: Any,
    score_2: Any,
    *,
    direction_1: RocDirection | str = RocDirection.HIGHER,
    direction_2: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    labels: tuple[str, str] = ("score_1", "score_2"),
) -> AucComparison:
    """DeLong's test of two correlated AUCs (two tests read on the same units).

    Parameters
    ----------
    truth : array of bool or 0/1
        Disease status of each unit (one reference standard for both tests).
    score_1, score_2 : array of float
        The two tests' results on the same units, in the same order.
    direction_1, direction_2 : {"higher", "lower"}
        Direction of each score (set explicitly; never detected).
    confidence_level : float
    labels : (str, str)
        Names used in the result.

    Returns
    -------
    AucComparison
        ``difference = auc_1 - auc_2``, two-sided z test and normal CI of the difference.
    """
    level = _validate.confidence(confidence_level)
    t, s1 = _prepare(truth, score_1, labels[0])
    _, s2 = _prepare(truth, score_2, labels[1])
    c1 = delong_components(t, s1, direction=direction_1)
    c2 = delong_components(t, s2, direction=direction_2)
    m, n = c1.n_positive, c1.n_negative
    var_1 = var_2 = cov_12 = math.nan
    if m >= 2 and n >= 2:
        s = np.cov(np.vstack([c1.v10, c2.v10])) / m + np.cov(np.vstack([c1.v01, c2.v01])) / n
        var_1, var_2, cov_12 = float(s[0, 0]), float(s[1, 1]), float(s[0, 1])
    return paired_comparison(
        "DeLong paired z test",
        labels,
        (c1.auc, c2.auc),
        var_1,
        var_2,
        cov_12,
        (m, n),
        level,
        undefined_reason="paired DeLong test needs two units in each class",
    )


def delong_unpaired_test(
    truth_1: Any,
    score_1: Any,
    truth_2: Any,
    score_2: Any,
    *,
    direction_1: RocDirection | str = RocDirection.HIGHER,
    direction_2: RocDirection | str = RocDirection.HIGHER,
    confidence_level: float = 0.95,
    labels: tuple[str, str] = ("score_1", "score_2"),
) -> AucComparison:
    """DeLong comparison of two independent AUCs with pROC's Welch-Satterthwaite t test.

    The two curves come from different units (for example two centres). The statistic is
    ``(A1 - A2) / sqrt(V1 + V2)`` with DeLong variances; degrees of freedom
    ``(V1 + V2)^2 / (V1^2/(N1 - 1) + V2^2/(N2 - 1))`` with N the number of units of a curve;
    two-sided p from Student's t, as pROC ``roc.test(paired = FALSE)``.
    """
    level = _validate.confidence(confidence_level)
    c1 = delong_components(truth_1, score_1, direction=direction_1)
    c2 = delong_components(truth_2, score_2, direction=direction_2)
    v1, v2 = c1.variance, c2.variance
    d = c1.auc - c2.auc
    n1 = c1.n_positive + c1.n_negative
    n2 = c2.n_positive + c2.n_negative
    m_total, n_total = c1.n_positive + c2.n_positive, c1.n_negative + c2.n_negative
    method = "DeLong unpaired, Welch-Satterthwaite t test (as pROC)"
    nan = math.nan
    if math.isnan(v1) or math.isnan(v2):
        warnings: tuple[str, ...] = (
            warn_undefined("unpaired DeLong test needs two units in each class"),
        )
        return AucComparison(
            method,
            *labels,
            c1.auc,
            c2.auc,
            d,
            nan,
            nan,
            nan,
            nan,
            "t",
            nan,
            m_total,
            n_total,
            confidence_level=level,
            warnings=warnings,
        )
    var = v1 + v2
    if var == 0:
        z, p, low, high, warnings = _normal_comparison(d, var, level)
        return AucComparison(
            method,
            *labels,
            c1.auc,
            c2.auc,
            d,
            low,
            high,
            0.0,
            z,
            "t",
            p,
            m_total,
            n_total,
            confidence_level=level,
            warnings=warnings,
        )
    df = var**2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    sd = math.sqrt(var)
    t_stat = d / sd
    t_crit = float(stats.t.ppf(0.5 + level / 2.0, df))
    p = float(2 * stats.t.sf(abs(t_stat), df))
    return AucComparison(
        method,
        labels[0],
        labels[1],
        c1.auc,
        c2.auc,
        d,
        d - t_crit * sd,
        d + t_crit * sd,
        sd,
        t_stat,
        "t",
        p,
        m_total,
        n_total,
        df=df,
        confidence_level=level,
        warnings=collect_warnings(),
    )
