"""Diagnostic accuracy from a 2x2 table: Se, Sp, accuracy, PPV, NPV, LRs, DOR, Youden's J.

Counts follow the usual layout (rows: test result; columns: reference standard)::

                 diseased   not diseased
    test +          TP           FP
    test -          FN           TN

* Proportions (sensitivity TP/(TP+FN), specificity TN/(FP+TN), accuracy, PPV TP/(TP+FP), NPV
  TN/(FN+TN), prevalence) get a binomial interval (:mod:`petdx.stats.proportions`;
  Clopper-Pearson exact by default, as epiR ``epi.tests``).
* Likelihood ratios LR+ = Se/(1-Sp) and LR- = (1-Se)/Sp: log method of Simel et al. (1991),
  ``SE(log LR+) = sqrt(1/TP - 1/(TP+FN) + 1/FP - 1/(FP+TN))``.
* Diagnostic odds ratio (TP*TN)/(FP*FN): Woolf's log method, ``SE = sqrt(1/TP + 1/FP + 1/FN +
  1/TN)``.
* Youden's J = Se + Sp - 1: Wald interval with Se and Sp independent (they come from
  disjoint groups).
* PPV and NPV at a prevalence given by the caller (Bayes' theorem), with the logit interval
  of Mercaldo, Lau & Zhou (2007).

A zero denominator gives NaN with an :class:`~petdx.errors.UndefinedStatisticWarning`; a ratio
whose numerator is 0 is 0 with no log-scale interval (also warned). No continuity correction is
added silently.

References
----------
Simel DL, Samsa GP, Matchar DB. Likelihood ratios with confidence: sample size estimation for
diagnostic test studies. J Clin Epidemiol 1991;44:763-770. doi:10.1016/0895-4356(91)90128-V
Woolf B. On estimating the relation between blood group and disease. Ann Hum Genet
1955;19:251-253. doi:10.1111/j.1469-1809.1955.tb01348.x
Mercaldo ND, Lau KF, Zhou XH. Confidence intervals for predictive values with an emphasis to
case-control designs. Stat Med 2007;26:2170-2183. doi:10.1002/sim.2677
Youden WJ. Index for rating diagnostic tests. Cancer 1950;3:32-35.
doi:10.1002/1097-0142(1950)3:1<32::AID-CNCR2820030106>3.0.CO;2-3
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats.enums import BinomialCi
from petdx.stats.proportions import proportion
from petdx.stats.results import Estimate, collect_warnings, json_ready

__all__ = ["AccuracyResult", "ConfusionCounts", "accuracy_from_labels", "diagnostic_accuracy"]

#: Measures in the order reports and the command line list them.
MEASURES = (
    "sensitivity",
    "specificity",
    "accuracy",
    "ppv",
    "npv",
    "prevalence",
    "lr_positive",
    "lr_negative",
    "dor",
    "youden",
)


@dataclass(frozen=True)
class ConfusionCounts:
    """The four cells of a 2x2 diagnostic table."""

    tp: int
    fp: int
    fn: int
    tn: int

    def __post_init__(self) -> None:
        for name in ("tp", "fp", "fn", "tn"):
            object.__setattr__(self, name, _validate.count(getattr(self, name), name))

    @classmethod
    def from_labels(cls, truth: Any, test: Any) -> ConfusionCounts:
        """Counts from per-unit booleans (True = diseased; True = test positive)."""
        t = _validate.labels(truth, "truth")
        r = _validate.labels(test, "test")
        _validate.same_length(truth=t, test=r)
        return cls(
            tp=int(np.sum(t & r)),
            fp=int(np.sum(~t & r)),
            fn=int(np.sum(t & ~r)),
            tn=int(np.sum(~t & ~r)),
        )

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def n_diseased(self) -> int:
        return self.tp + self.fn

    @property
    def n_non_diseased(self) -> int:
        return self.fp + self.tn

    def to_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn, "n": self.n}


@dataclass(frozen=True)
class AccuracyResult:
    """Every accuracy measure of one 2x2 table, each an :class:`Estimate`."""

    counts: ConfusionCounts
    sensitivity: Estimate
    specificity: Estimate
    accuracy: Estimate
    ppv: Estimate
    npv: Estimate
    prevalence: Estimate
    lr_positive: Estimate
    lr_negative: Estimate
    dor: Estimate
    youden: Estimate
    ci_method: str
    confidence_level: float = 0.95
    ppv_at_prevalence: Estimate | None = None
    npv_at_prevalence: Estimate | None = None
    n_clusters: int | None = None

    def measures(self) -> dict[str, Estimate]:
        """Measures by name, in report order (with the prevalence-adjusted values if any)."""
        out = {name: getattr(self, name) for name in MEASURES}
        if self.ppv_at_prevalence is not None and self.npv_at_prevalence is not None:
            out["ppv_at_prevalence"] = self.ppv_at_prevalence
            out["npv_at_prevalence"] = self.npv_at_prevalence
        return out

    @property
    def warnings(self) -> tuple[str, ...]:
        return collect_warnings(*(m.warnings for m in self.measures().values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts.to_dict(),
            "n_clusters": self.n_clusters,
            "ci_method": self.ci_method,
            "confidence_level": self.confidence_level,
            "measures": {k: v.to_dict() for k, v in self.measures().items()},
            "warnings": json_ready(self.warnings),
        }

    def __str__(self) -> str:
        c = self.counts
        head = f"TP {c.tp}, FP {c.fp}, FN {c.fn}, TN {c.tn} (n={c.n})"
        if self.n_clusters is not None:
            head += f" in {self.n_clusters} clusters"
        return "\n".join([head, *(f"  {m}" for m in self.measures().values())])


def _log_ratio(
    name: str,
    numerator: float,
    denominator: float,
    log_variance: float | None,
    *,
    method: str,
    n: int,
    level: float,
    why_undefined: str,
    why_no_interval: str,
) -> Estimate:
    """A ratio with a log-scale Wald interval; NaN when the denominator is 0, no interval when
    ``log_variance`` is None (a zero cell) or the ratio is 0."""
    if denominator == 0 or math.isnan(numerator) or math.isnan(denominator):
        reason = f"{name}: {why_undefined}"
        return Estimate.undefined(name, method, n, reason, confidence_level=level)
    ratio = numerator / denominator
    if ratio == 0 or log_variance is None:
        reason = f"{name}: {why_no_interval}"
        return Estimate.undefined(name, method, n, reason, confidence_level=level, estimate=ratio)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    se = math.sqrt(log_variance)
    low, high = ratio * math.exp(-z * se), ratio * math.exp(z * se)
    return Estimate(name, ratio, low, high, method, n, level, se=se)


def _inverse_sum(positive: tuple[int, ...], negative: tuple[int, ...] = ()) -> float | None:
    """sum(1/a for a in positive) - sum(1/b for b in negative); None when a cell is 0."""
    if any(v == 0 for v in positive + negative):
        return None
    return sum(1.0 / v for v in positive) - sum(1.0 / v for v in negative)


def _youden(se: Estimate, sp: Estimate, level: float) -> Estimate:
    method = "Wald, Se and Sp independent"
    n = se.n + sp.n
    if se.n == 0 or sp.n == 0:
        reason = "youden: needs both diseased and non-diseased units"
        return Estimate.undefined("youden", method, n, reason, confidence_level=level)
    j = se.estimate + sp.estimate - 1.0
    var = se.estimate * (1 - se.estimate) / se.n + sp.estimate * (1 - sp.estimate) / sp.n
    sd = math.sqrt(var)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    low, high = max(-1.0, j - z * sd), min(1.0, j + z * sd)
    return Estimate("youden", j, low, high, method, n, level, se=sd)


def _expit(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _predictive_at(
    name: str, se: Estimate, sp: Estimate, prevalence: float, level: float, *, positive: bool
) -> Estimate:
    """PPV (positive=True) or NPV at ``prevalence``; logit interval of Mercaldo et al. 2007:
    ``logit PPV = log(Se p / ((1 - Sp)(1 - p)))`` with variance
    ``(1 - Se)/(n1 Se) + Sp/(n0 (1 - Sp))``, and symmetrically for NPV."""
    method = "Bayes' theorem at the given prevalence; logit interval (Mercaldo et al. 2007)"
    s, p, n1, n0 = se.estimate, sp.estimate, se.n, sp.n
    n = n1 + n0
    if n1 == 0 or n0 == 0:
        reason = f"{name}: needs both diseased and non-diseased units"
        return Estimate.undefined(name, method, n, reason, confidence_level=level)
    if positive:
        num, den = s * prevalence, (1 - p) * (1 - prevalence)
    else:
        num, den = p * (1 - prevalence), (1 - s) * prevalence
    if num + den == 0:
        reason = f"{name}: undefined (sensitivity and specificity give 0/0 at this prevalence)"
        return Estimate.undefined(name, method, n, reason, confidence_level=level)
    value = num / (num + den)
    if s in (0.0, 1.0) or p in (0.0, 1.0):
        reason = f"{name}: no logit interval when sensitivity or specificity is 0 or 1"
        return Estimate.undefined(name, method, n, reason, confidence_level=level, estimate=value)
    if positive:
        var = (1 - s) / (n1 * s) + p / (n0 * (1 - p))
    else:
        var = s / (n1 * (1 - s)) + (1 - p) / (n0 * p)
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    logit, sd = math.log(num / den), math.sqrt(var)
    return Estimate(name, value, _expit(logit - z * sd), _expit(logit + z * sd), method, n, level)


def diagnostic_accuracy(
    tp: int,
    fp: int,
    fn: int,
    tn: int,
    *,
    ci_method: BinomialCi | str = BinomialCi.EXACT,
    confidence_level: float = 0.95,
    prevalence: float | None = None,
) -> AccuracyResult:
    """All accuracy measures of a 2x2 table with their confidence intervals.

    Parameters
    ----------
    tp, fp, fn, tn : int
        Cell counts (see the module docstring for the layout).
    ci_method : {"exact", "wilson", "jeffreys", "agresti"}
        Interval of the proportions (Se, Sp, accuracy, PPV, NPV, prevalence). Default exact
        Clopper-Pearson. The point estimates are the raw proportions whatever the method.
    confidence_level : float
        Two-sided level of every interval (default 0.95).
    prevalence : float, optional
        A prevalence in (0, 1) at which PPV and NPV are also given (Bayes' theorem), e.g. the
        prevalence of the intended-use population when the study sample is enriched.

    Returns
    -------
    AccuracyResult

    Raises
    ------
    InputValidationError
        Negative or non-integer counts, unknown method, prevalence outside (0, 1).

    References
    ----------
    See the module docstring. The default output reproduces epiR ``epi.tests`` (method
    "exact").
    """
    counts = ConfusionCounts(tp, fp, fn, tn)
    kind = _validate.as_enum(BinomialCi, ci_method, "ci_method")
    level = _validate.confidence(confidence_level)
    if prevalence is not None and not 0.0 < float(prevalence) < 1.0:
        raise InputValidationError(
            f"prevalence: expected a proportion strictly between 0 and 1; got {prevalence}."
        )
    c = counts

    def prop(name: str, x: int, n: int, why: str) -> Estimate:
        return proportion(
            x,
            n,
            name=name,
            method=kind,
            confidence_level=level,
            undefined_reason=f"{name}: {why}",
        )

    se = prop("sensitivity", c.tp, c.n_diseased, "no diseased units (TP + FN = 0)")
    sp = prop("specificity", c.tn, c.n_non_diseased, "no non-diseased units (FP + TN = 0)")
    fpr, fnr = 1 - sp.estimate, 1 - se.estimate
    lr_pos = _log_ratio(
        "lr_positive",
        se.estimate,
        fpr,
        _inverse_sum((c.tp, c.fp), (c.n_diseased, c.n_non_diseased)),
        method="log method (Simel et al. 1991)",
        n=c.n,
        level=level,
        why_undefined="1 - specificity is 0 or undefined (no false positives, or no "
        "non-diseased units), so Se/(1 - Sp) has a zero denominator",
        why_no_interval="no true or no false positives; the log-method interval needs both",
    )
    lr_neg = _log_ratio(
        "lr_negative",
        fnr,
        sp.estimate,
        _inverse_sum((c.fn, c.tn), (c.n_diseased, c.n_non_diseased)),
        method="log method (Simel et al. 1991)",
        n=c.n,
        level=level,
        why_undefined="specificity is 0 or undefined (no true negatives), so (1 - Se)/Sp has "
        "a zero denominator",
        why_no_interval="no false or no true negatives; the log-method interval needs both",
    )
    dor = _log_ratio(
        "dor",
        float(c.tp * c.tn),
        float(c.fp * c.fn),
        _inverse_sum((c.tp, c.fp, c.fn, c.tn)),
        method="Woolf log method",
        n=c.n,
        level=level,
        why_undefined="FP * FN = 0, so (TP * TN)/(FP * FN) has a zero denominator",
        why_no_interval="a cell is 0; Woolf's interval needs four non-zero cells",
    )
    result = AccuracyResult(
        counts=counts,
        sensitivity=se,
        specificity=sp,
        accuracy=prop("accuracy", c.tp + c.tn, c.n, "empty table"),
        ppv=prop("ppv", c.tp, c.tp + c.fp, "no test-positive units (TP + FP = 0)"),
        npv=prop("npv", c.tn, c.tn + c.fn, "no test-negative units (TN + FN = 0)"),
        prevalence=prop("prevalence", c.n_diseased, c.n, "empty table"),
        lr_positive=lr_pos,
        lr_negative=lr_neg,
        dor=dor,
        youden=_youden(se, sp, level),
        ci_method=kind.label,
        confidence_level=level,
    )
    if prevalence is None:
        return result
    return replace(
        result,
        ppv_at_prevalence=_predictive_at(
            "ppv_at_prevalence", se, sp, float(prevalence), level, positive=True
        ),
        npv_at_prevalence=_predictive_at(
            "npv_at_prevalence", se, sp, float(prevalence), level, positive=False
        ),
    )


def accuracy_from_labels(
    truth: Any,
    test: Any,
    *,
    ci_method: BinomialCi | str = BinomialCi.EXACT,
    confidence_level: float = 0.95,
    prevalence: float | None = None,
) -> AccuracyResult:
    """:func:`diagnostic_accuracy` of per-unit booleans (True = diseased / test positive)."""
    c = ConfusionCounts.from_labels(truth, test)
    return diagnostic_accuracy(
        c.tp,
        c.fp,
        c.fn,
        c.tn,
        ci_method=ci_method,
        confidence_level=confidence_level,
        prevalence=prevalence,
    )
