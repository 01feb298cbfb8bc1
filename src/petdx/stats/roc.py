"""Empirical ROC curve, thresholds, partial AUC, Hanley-McNeil SE and optimal cut-offs.

Direction is always explicit: with ``direction="higher"`` a unit is called positive when
``score >= threshold``; with ``"lower"`` when ``score <= threshold``. It is never guessed from
the data (pROC's ``direction="auto"`` is a known source of optimistic AUCs) and never
re-detected inside a bootstrap.

Thresholds are reported two ways, point by point:

* ``thresholds``: observed score values. The first point (nothing positive) has threshold
  +inf (-inf for "lower"); each further point calls positive every unit at least as extreme
  as that observed value.
* ``midpoint_thresholds``: pROC's convention, the midpoint between consecutive distinct
  values, with -inf/+inf at the ends; it gives the same classification of the data and is a
  better cut-off to carry to new data.

Points run from (FPR 0, Se 0) to (FPR 1, Se 1) as the threshold is relaxed.

References
----------
Hanley JA, McNeil BJ. The meaning and use of the area under a receiver operating
characteristic (ROC) curve. Radiology 1982;143:29-36. doi:10.1148/radiology.143.1.7063747
McClish DK. Analyzing a portion of the ROC curve. Med Decis Making 1989;9:190-195.
doi:10.1177/0272989X8900900307
Youden WJ. Index for rating diagnostic tests. Cancer 1950;3:32-35.
Perkins NJ, Schisterman EF. The inconsistency of "optimal" cutpoints obtained using two
criteria based on the receiver operating characteristic curve. Am J Epidemiol
2006;163:670-675. doi:10.1093/aje/kwj063
Robin X, et al. pROC. BMC Bioinformatics 2011;12:77. doi:10.1186/1471-2105-12-77
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats._ranking import TieGroups, orient, tie_groups
from petdx.stats._validate import FloatArray
from petdx.stats.delong import _check_classes, _prepare
from petdx.stats.enums import CutoffRule, RocDirection
from petdx.stats.results import Estimate, dataclass_dict, format_number, json_ready

__all__ = [
    "Cutoff",
    "RocCurve",
    "hanley_mcneil_se",
    "optimal_cutoff",
    "partial_auc",
    "roc_curve",
]


@dataclass(frozen=True, eq=False)
class RocCurve:
    """Points of an empirical ROC curve (see the module docstring for the thresholds)."""

    direction: RocDirection
    thresholds: FloatArray
    midpoint_thresholds: FloatArray
    sensitivity: FloatArray
    specificity: FloatArray
    n_positive: int
    n_negative: int

    @property
    def false_positive_rate(self) -> FloatArray:
        return 1.0 - self.specificity

    @property
    def rule(self) -> str:
        op = ">=" if self.direction is RocDirection.HIGHER else "<="
        return f"score {op} threshold is positive"

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction.value,
            "rule": self.rule,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
            "thresholds": json_ready(self.thresholds),
            "midpoint_thresholds": json_ready(self.midpoint_thresholds),
            "sensitivity": json_ready(self.sensitivity),
            "specificity": json_ready(self.specificity),
        }

    def __str__(self) -> str:
        return (
            f"ROC curve, {self.sensitivity.size} points ({self.rule}; "
            f"{self.n_positive} positive, {self.n_negative} negative units)"
        )


def curve_from_groups(groups: TieGroups, direction: RocDirection) -> RocCurve:
    """The ROC curve of already-grouped oriented scores."""
    desc = groups.values[::-1]
    tp = np.concatenate([[0.0], np.cumsum(groups.pos[::-1])])
    fp = np.concatenate([[0.0], np.cumsum(groups.neg[::-1])])
    sign = 1.0 if direction is RocDirection.HIGHER else -1.0
    observed = np.concatenate([[math.inf], desc]) * sign
    mids = np.concatenate([[math.inf], (desc[:-1] + desc[1:]) / 2.0, [-math.inf]]) * sign
    return RocCurve(
        direction,
        observed,
        mids,
        tp / groups.n_pos,
        1.0 - fp / groups.n_neg,
        groups.n_pos,
        groups.n_neg,
    )


def roc_curve(
    truth: Any, score: Any, *, direction: RocDirection | str = RocDirection.HIGHER
) -> RocCurve:
    """The empirical ROC curve with observed and midpoint thresholds.

    Parameters
    ----------
    truth : array of bool or 0/1
        True for diseased units.
    score : array of float
    direction : {"higher", "lower"}
        "higher": ``score >= threshold`` is positive; "lower": ``score <= threshold``.

    Returns
    -------
    RocCurve

    Raises
    ------
    InputValidationError
        Unequal lengths, non-finite scores, or a class with no unit.
    """
    t, s = _prepare(truth, score, "score")
    _check_classes(t, "score")
    d = _validate.as_enum(RocDirection, direction, "direction")
    return curve_from_groups(tie_groups(t, orient(s, d)), d)


def partial_area(x: FloatArray, y: FloatArray, low: float, high: float) -> FloatArray:
    """Area under the piecewise-linear curve through (x, y) between ``low`` and ``high``.

    ``x`` must be non-decreasing along the last axis; leading axes are replicates.
    Vertical segments (equal x) add nothing.
    """
    x0, x1 = x[..., :-1], x[..., 1:]
    y0, y1 = y[..., :-1], y[..., 1:]
    a = np.clip(x0, low, high)
    b = np.clip(x1, low, high)
    width = x1 - x0
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(width > 0, (y1 - y0) / np.where(width > 0, width, 1.0), 0.0)
    ya = y0 + slope * (a - x0)
    yb = y0 + slope * (b - x0)
    result: FloatArray = np.sum(np.where(b > a, (b - a) * (ya + yb) / 2.0, 0.0), axis=-1)
    return result


def _range(value: tuple[float, float], what: str) -> tuple[float, float]:
    low, high = sorted(float(v) for v in value)
    if not (0.0 <= low < high <= 1.0):
        raise InputValidationError(
            f"{what}: expected two proportions 0 <= low < high <= 1 (e.g. (0.8, 1.0)); got {value}."
        )
    return low, high


#: Relative tolerance (of the region's width) within which a partial area counts as lying
#: on the chance diagonal rather than below it.
_ON_DIAGONAL = 1e-12


@dataclass(frozen=True)
class PartialAucRegion:
    """Where a partial AUC is taken and how to standardise it (McClish 1989)."""

    focus: str  # "specificity" or "sensitivity"
    low: float
    high: float

    def area(self, curve_x_y: tuple[FloatArray, FloatArray, FloatArray]) -> FloatArray:
        """Partial area from (false-positive rate, sensitivity, specificity) arrays."""
        fpr, tpr, spec = curve_x_y
        if self.focus == "specificity":
            return partial_area(fpr, tpr, 1.0 - self.high, 1.0 - self.low)
        return partial_area(tpr, spec, self.low, self.high)

    def minimum(self) -> float:
        """Partial area of the chance diagonal over the region (McClish's minimum)."""
        if self.focus == "specificity":
            f1, f2 = 1.0 - self.high, 1.0 - self.low
            return (f2 * f2 - f1 * f1) / 2.0
        a, b = self.low, self.high
        return (b - a) - (b * b - a * a) / 2.0

    def mcclish(self, area: FloatArray | float) -> FloatArray | float:
        """McClish's standardisation: 0.5 for a chance curve, 1 for a perfect one.

        Undefined (NaN) for an area below the chance diagonal's, as pROC (``NA`` with the
        warning "Partial AUC correction not defined for ROC curves below the diagonal").
        An area on the diagonal (within rounding, :data:`_ON_DIAGONAL` of the region's
        width) is the chance curve, 0.5: the area and the minimum are sums rounded
        differently, so a chance curve could otherwise fall a few ulps "below" itself
        (found by the R differential, tests/stats/r_differential)."""
        if self.focus == "specificity":
            f1, f2 = 1.0 - self.high, 1.0 - self.low
            minimum = (f2 * f2 - f1 * f1) / 2.0
        else:
            a, b = self.low, self.high
            minimum = (b - a) - (b * b - a * a) / 2.0
        maximum = self.high - self.low
        corrected = (1.0 + (np.asarray(area) - minimum) / (maximum - minimum)) / 2.0
        below = np.asarray(area) < minimum - _ON_DIAGONAL * maximum
        result = np.where(below, np.nan, np.maximum(corrected, 0.5))
        return float(result) if result.ndim == 0 else result

    def label(self, mcclish: bool) -> str:
        text = f"partial AUC over {self.focus} {self.low:g} to {self.high:g}"
        return text + (", McClish-standardised" if mcclish else "")


def pauc_region(
    specificity_range: tuple[float, float] | None,
    sensitivity_range: tuple[float, float] | None,
) -> PartialAucRegion:
    if (specificity_range is None) == (sensitivity_range is None):
        raise InputValidationError(
            "partial AUC: give exactly one of specificity_range or sensitivity_range, e.g. "
            "specificity_range=(0.8, 1.0)."
        )
    if specificity_range is not None:
        return PartialAucRegion("specificity", *_range(specificity_range, "specificity_range"))
    assert sensitivity_range is not None
    return PartialAucRegion("sensitivity", *_range(sensitivity_range, "sensitivity_range"))


def partial_auc(
    truth: Any,
    score: Any,
    *,
    direction: RocDirection | str = RocDirection.HIGHER,
    specificity_range: tuple[float, float] | None = None,
    sensitivity_range: tuple[float, float] | None = None,
    mcclish: bool = False,
) -> Estimate:
    """Partial area under the empirical ROC curve over a specificity or sensitivity range.

    The curve is the piecewise-linear empirical curve (as pROC). Over a specificity range
    ``(sp1, sp2)`` the area is ``integral of Se d(FPR)`` for FPR from ``1 - sp2`` to
    ``1 - sp1``; over a sensitivity range it is ``integral of Sp d(Se)``. With
    ``mcclish=True`` it is standardised to 0.5 for a chance curve and 1 for a perfect test
    (McClish 1989), as pROC ``partial.auc.correct`` and scikit-learn ``max_fpr``.

    Returns
    -------
    Estimate
        Without an interval (use :func:`petdx.stats.roc_analysis.partial_auc_bootstrap`).
    """
    region = pauc_region(specificity_range, sensitivity_range)
    curve = roc_curve(truth, score, direction=direction)
    area = float(region.area((curve.false_positive_rate, curve.sensitivity, curve.specificity)))
    value = float(region.mcclish(area)) if mcclish else area
    n = curve.n_positive + curve.n_negative
    if math.isnan(value):
        reason = (
            f"partial AUC {area:.4g} lies below the chance diagonal's {region.minimum():.4g}: "
            "McClish's correction is not defined there (pROC returns NA)"
        )
        return Estimate.undefined("partial_auc", region.label(mcclish), n, reason)
    return Estimate("partial_auc", value, math.nan, math.nan, region.label(mcclish), n)


def hanley_mcneil_se(auc: float, n_positive: int, n_negative: int) -> float:
    """Standard error of an AUC by Hanley & McNeil (1982), exponential approximation.

    ``SE^2 = [A(1-A) + (m-1)(Q1 - A^2) + (n-1)(Q2 - A^2)] / (m n)`` with ``Q1 = A/(2-A)``,
    ``Q2 = 2A^2/(1+A)``; m diseased and n non-diseased units.
    """
    a = float(auc)
    m, n = int(n_positive), int(n_negative)
    if m < 1 or n < 1 or not 0.0 <= a <= 1.0:
        return math.nan
    q1 = a / (2.0 - a)
    q2 = 2.0 * a * a / (1.0 + a)
    var = (a * (1 - a) + (m - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (m * n)
    return math.sqrt(max(var, 0.0))


#: Above this product of class sizes the squared top-left distance in integer units
#: (up to ``2 (n_pos n_neg)^2``) would overflow int64; Python integers are used instead.
_INT64_SAFE_PRODUCT = 2_000_000_000


def cutoff_criterion(
    tp: Any, fp: Any, n_pos: Any, n_neg: Any, rule: CutoffRule
) -> npt.NDArray[Any]:
    """Value to maximise, exactly, from integer counts at every threshold.

    Youden's ``J = Se + Sp - 1`` times ``n_pos n_neg`` is ``tp n_neg - fp n_pos``; minus the
    squared distance to the top-left corner times ``(n_pos n_neg)^2`` is
    ``-((n_pos - tp) n_neg)^2 - (fp n_pos)^2``. Both are integers, so ties are exact: in
    floating point ``1/3 + 1 - 1``, ``2/3 + 2/3 - 1`` and ``1 + 1/3 - 1`` differ in the last
    bit and a tie would be broken by rounding. ``tp`` / ``fp`` may be integer-valued floats
    (bootstrap counts); ``n_pos`` / ``n_neg`` scalars or arrays broadcasting against them.
    """
    tp_i = np.rint(np.asarray(tp, dtype=np.float64)).astype(np.int64)
    fp_i = np.rint(np.asarray(fp, dtype=np.float64)).astype(np.int64)
    n1 = np.rint(np.asarray(n_pos, dtype=np.float64)).astype(np.int64)
    n0 = np.rint(np.asarray(n_neg, dtype=np.float64)).astype(np.int64)
    if rule is CutoffRule.YOUDEN:
        youden: npt.NDArray[Any] = tp_i * n0 - fp_i * n1
        return youden
    if int(np.max(n1, initial=0)) * int(np.max(n0, initial=0)) > _INT64_SAFE_PRODUCT:
        tp_i, fp_i, n1, n0 = (a.astype(object) for a in (tp_i, fp_i, n1, n0))
    top_left: npt.NDArray[Any] = -(((n1 - tp_i) * n0) ** 2 + (fp_i * n1) ** 2)
    return top_left


def _criterion_number(value: Any, n_pos: int, n_neg: int, rule: CutoffRule) -> float:
    """Youden's J, or the distance to the top-left corner, from :func:`cutoff_criterion`."""
    scale = Fraction(n_pos * n_neg)
    if rule is CutoffRule.YOUDEN:
        return float(Fraction(int(value)) / scale)
    return math.sqrt(Fraction(-int(value)) / scale**2)


@dataclass(frozen=True)
class Cutoff:
    """An optimal cut-off of an ROC curve and the sensitivity / specificity there.

    ``threshold`` is an observed score (``score >= threshold`` positive for direction
    "higher", ``<=`` for "lower"); ``midpoint_threshold`` the pROC-style equivalent. Among
    thresholds tied on the criterion the most stringent one (highest specificity) is taken;
    the others are listed in ``tied_thresholds``. Intervals come from the bootstrap
    (:func:`petdx.stats.roc_analysis.roc_analysis` with ``n_bootstrap``); without it they
    are NaN.
    """

    rule: CutoffRule
    direction: RocDirection
    threshold: float
    midpoint_threshold: float
    sensitivity: Estimate
    specificity: Estimate
    criterion_value: float
    threshold_ci_low: float = math.nan
    threshold_ci_high: float = math.nan
    ci_method: str = "no interval (bootstrap not requested)"
    tied_thresholds: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        op = ">=" if self.direction is RocDirection.HIGHER else "<="
        text = (
            f"{self.rule.value} cut-off: score {op} {format_number(self.threshold, 4)} "
            f"(midpoint {format_number(self.midpoint_threshold, 4)})"
        )
        if not math.isnan(self.threshold_ci_low):
            text += (
                f", threshold CI {format_number(self.threshold_ci_low, 4)} to "
                f"{format_number(self.threshold_ci_high, 4)} ({self.ci_method})"
            )
        return f"{text}\n  {self.sensitivity}\n  {self.specificity}"


def optimal_cutoff(curve: RocCurve, rule: CutoffRule | str = CutoffRule.YOUDEN) -> Cutoff:
    """The cut-off maximising Youden's J or closest to the top-left corner.

    Every point but the first (nothing called positive) is a candidate. The criterion is
    compared exactly, in integer counts (:func:`cutoff_criterion`); ties go to the most
    stringent threshold (highest specificity) and the others are listed, most stringent first.
    """
    kind = _validate.as_enum(CutoffRule, rule, "rule")
    n1, n0 = curve.n_positive, curve.n_negative
    tp = curve.sensitivity[1:] * n1
    fp = (1.0 - curve.specificity[1:]) * n0
    crit = cutoff_criterion(tp, fp, n1, n0, kind)
    best = int(np.argmax(crit))
    tied = np.flatnonzero(crit == crit[best])
    k = best + 1
    method = "point estimate at the chosen cut-off (interval needs the bootstrap)"
    se, sp = float(curve.sensitivity[k]), float(curve.specificity[k])
    return Cutoff(
        kind,
        curve.direction,
        float(curve.thresholds[k]),
        float(curve.midpoint_thresholds[k]),
        Estimate("sensitivity", se, math.nan, math.nan, method, n1, numerator=round(se * n1)),
        Estimate("specificity", sp, math.nan, math.nan, method, n0, numerator=round(sp * n0)),
        _criterion_number(crit[best], n1, n0, kind),
        tied_thresholds=tuple(float(curve.thresholds[i + 1]) for i in tied if i != best),
    )
