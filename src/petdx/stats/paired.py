"""Paired patient-level comparisons: McNemar, paired differences of Se and Sp, Wilcoxon.

* McNemar's test of two paired proportions (statsmodels underneath): exact (two-sided
  binomial test on the discordant pairs), chi-square without, or with continuity correction
  (R ``mcnemar.test``'s default).
* Difference of two paired proportions with Newcombe's (1998) method 10 interval (hybrid
  Wilson score, with the phi correction for the pairing), or the Wald interval.
* :func:`compare_paired_accuracy`: difference in sensitivity (on diseased units) and in
  specificity (on non-diseased units) of two tests read on the same patients, each with its
  interval and McNemar test.
* :func:`wilcoxon_signed_rank`: paired values (e.g. SUV at 60 and 120 min), scipy underneath,
  with R ``wilcox.test(paired = TRUE)`` conventions: zero differences dropped; exact p when
  fewer than 50 pairs remain and no |difference| is tied, else the normal approximation with
  continuity correction and tie-corrected variance; the statistic V is the sum of the ranks
  of the positive differences.

References
----------
McNemar Q. Note on the sampling error of the difference between correlated proportions or
percentages. Psychometrika 1947;12:153-157. doi:10.1007/BF02295996
Newcombe RG. Improved confidence intervals for the difference between binomial proportions
based on paired data. Stat Med 1998;17:2635-2650.
doi:10.1002/(SICI)1097-0258(19981130)17:22<2635::AID-SIM954>3.0.CO;2-C
Wilcoxon F. Individual comparisons by ranking methods. Biometrics Bull 1945;1:80-83.
doi:10.2307/3001968
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import stats

from petdx.errors import InputValidationError
from petdx.stats import _validate
from petdx.stats.enums import PairedDifferenceCi
from petdx.stats.proportions import binomial_interval
from petdx.stats.results import Estimate, HypothesisTest, dataclass_dict, warn_undefined

__all__ = [
    "McNemarMethod",
    "PairedAccuracyComparison",
    "compare_paired_accuracy",
    "mcnemar_test",
    "paired_difference",
    "wilcoxon_signed_rank",
]


class McNemarMethod(StrEnum):
    """Variant of McNemar's test."""

    EXACT = "exact"  # two-sided binomial test of b among b + c, p = 1/2
    CHI2 = "chi2"  # (b - c)^2 / (b + c)
    CHI2_CC = "chi2-cc"  # (|b - c| - 1)^2 / (b + c), R mcnemar.test default


def _table(table: Any) -> tuple[int, int, int, int]:
    array = np.asarray(table)
    if array.shape != (2, 2):
        raise InputValidationError(
            f"McNemar: expected a 2x2 table [[both, 1 only], [2 only, neither]]; got shape "
            f"{array.shape}."
        )
    a, b, c, d = (_validate.count(v, "table cell") for v in array.ravel())
    return a, b, c, d


def mcnemar_test(
    table: Any, *, method: McNemarMethod | str = McNemarMethod.CHI2_CC
) -> HypothesisTest:
    """McNemar's test of a paired 2x2 table.

    Parameters
    ----------
    table : 2x2 array of counts
        ``[[both positive, test 1 only], [test 2 only, both negative]]``; only the
        discordant cells ``b = table[0][1]`` and ``c = table[1][0]`` matter.
    method : {"exact", "chi2", "chi2-cc"}
        Default "chi2-cc" (chi-square with continuity correction, as R ``mcnemar.test``).

    Returns
    -------
    HypothesisTest
        ``statistic`` is chi-square (1 df) or, for "exact", the smaller discordant count.
        No discordant pair: NaN with a warning.
    """
    from statsmodels.stats.contingency_tables import mcnemar

    kind = _validate.as_enum(McNemarMethod, method, "method")
    a, b, c, d = _table(table)
    n = a + b + c + d
    label = {
        McNemarMethod.EXACT: "McNemar exact (binomial)",
        McNemarMethod.CHI2: "McNemar chi-square",
        McNemarMethod.CHI2_CC: "McNemar chi-square with continuity correction",
    }[kind]
    if b + c == 0:
        message = warn_undefined("McNemar: no discordant pairs, so the test is undefined")
        return HypothesisTest("mcnemar", math.nan, math.nan, label, n, warnings=(message,))
    result = mcnemar(
        [[a, b], [c, d]],
        exact=kind is McNemarMethod.EXACT,
        correction=kind is McNemarMethod.CHI2_CC,
    )
    if kind is McNemarMethod.EXACT:
        return HypothesisTest(
            "mcnemar", float(result.statistic), float(result.pvalue), label, n, statistic_name="b"
        )
    return HypothesisTest(
        "mcnemar", float(result.statistic), float(result.pvalue), label, n, df=1.0
    )


def _newcombe(a: int, b: int, c: int, d: int, level: float) -> tuple[float, float]:
    n = a + b + c + d
    p1, p2 = (a + b) / n, (a + c) / n
    diff = p1 - p2
    l1, u1 = binomial_interval(a + b, n, method="wilson", confidence_level=level)
    l2, u2 = binomial_interval(a + c, n, method="wilson", confidence_level=level)
    big_a = (a + b) * (c + d) * (a + c) * (b + d)
    phi = 0.0
    if big_a > 0:
        big_b = a * d - b * c
        big_c = big_b - n / 2 if big_b > n / 2 else (big_b if big_b < 0 else 0.0)
        phi = big_c / math.sqrt(big_a)
    low = diff - math.sqrt(
        max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2)
    )
    high = diff + math.sqrt(
        max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2)
    )
    return max(-1.0, low), min(1.0, high)


def paired_difference(
    x_1: Any,
    x_2: Any,
    *,
    method: PairedDifferenceCi | str = PairedDifferenceCi.NEWCOMBE,
    confidence_level: float = 0.95,
    name: str = "difference",
) -> Estimate:
    """Difference ``p1 - p2`` of two proportions observed on the same units, with its CI.

    Parameters
    ----------
    x_1, x_2 : array of bool or 0/1
        Outcome of each unit under condition 1 and 2 (same units, same order).
    method : {"newcombe", "wald"}
        Newcombe (1998) method 10 (default) or Wald.
    """
    kind = _validate.as_enum(PairedDifferenceCi, method, "method")
    level = _validate.confidence(confidence_level)
    u = _validate.labels(x_1, "x_1")
    v = _validate.labels(x_2, "x_2")
    _validate.same_length(x_1=u, x_2=v)
    a, b = int(np.sum(u & v)), int(np.sum(u & ~v))
    c, d = int(np.sum(~u & v)), int(np.sum(~u & ~v))
    n = a + b + c + d
    label = (
        "Newcombe 1998 method 10 (paired, Wilson score)"
        if kind is PairedDifferenceCi.NEWCOMBE
        else "Wald (paired)"
    )
    if n == 0:
        return Estimate.undefined(
            name, label, 0, f"{name}: no units, so it is undefined", confidence_level=level
        )
    diff = (b - c) / n
    if kind is PairedDifferenceCi.NEWCOMBE:
        low, high = _newcombe(a, b, c, d, level)
        return Estimate(name, diff, low, high, label, n, level)
    se = math.sqrt(max(0.0, (b + c) - (b - c) ** 2 / n)) / n
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return Estimate(
        name, diff, max(-1.0, diff - z * se), min(1.0, diff + z * se), label, n, level, se=se
    )


@dataclass(frozen=True)
class PairedAccuracyComparison:
    """Sensitivity and specificity of two tests read on the same patients, compared.

    Each test's ``effect`` is ``test_1 - test_2`` with its interval.
    """

    label_1: str
    label_2: str
    sensitivity: HypothesisTest
    specificity: HypothesisTest

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def __str__(self) -> str:
        return (
            f"{self.label_1} vs {self.label_2}\n  sensitivity {self.sensitivity}\n"
            f"  specificity {self.specificity}"
        )


def compare_paired_accuracy(
    truth: Any,
    test_1: Any,
    test_2: Any,
    *,
    ci_method: PairedDifferenceCi | str = PairedDifferenceCi.NEWCOMBE,
    mcnemar_method: McNemarMethod | str = McNemarMethod.CHI2_CC,
    confidence_level: float = 0.95,
    labels: tuple[str, str] = ("test_1", "test_2"),
) -> PairedAccuracyComparison:
    """Differences in sensitivity and specificity of two paired binary tests.

    Sensitivity is compared on the diseased units, specificity on the non-diseased ones; each
    gets McNemar's test and the interval of the paired difference (test 1 minus test 2).
    """
    t = _validate.labels(truth, "truth")
    r1 = _validate.labels(test_1, labels[0])
    r2 = _validate.labels(test_2, labels[1])
    _validate.same_length(truth=t, **{labels[0]: r1, labels[1]: r2})

    def compare(name: str, u: Any, v: Any) -> HypothesisTest:
        table = [
            [int(np.sum(u & v)), int(np.sum(u & ~v))],
            [int(np.sum(~u & v)), int(np.sum(~u & ~v))],
        ]
        test = mcnemar_test(table, method=mcnemar_method)
        effect = paired_difference(
            u, v, method=ci_method, confidence_level=confidence_level, name=f"{name}_difference"
        )
        return HypothesisTest(
            f"{name}_difference",
            test.statistic,
            test.p_value,
            test.method,
            test.n,
            test.statistic_name,
            test.df,
            effect,
            test.warnings + effect.warnings,
        )

    return PairedAccuracyComparison(
        labels[0],
        labels[1],
        compare("sensitivity", r1[t], r2[t]),
        compare("specificity", ~r1[~t], ~r2[~t]),
    )


def wilcoxon_signed_rank(
    x: Any,
    y: Any,
    *,
    alternative: str = "two-sided",
    name: str = "wilcoxon",
) -> HypothesisTest:
    """Wilcoxon signed-rank test of paired values ``x - y``, as R ``wilcox.test(paired=TRUE)``.

    Parameters
    ----------
    x, y : array of float
        Paired values (e.g. SUVmax at 60 and at 120 min of the same lesions).
    alternative : {"two-sided", "greater", "less"}
        "greater": x tends to exceed y.

    Returns
    -------
    HypothesisTest
        ``statistic`` V (sum of ranks of positive differences), ``n`` non-zero pairs;
        ``effect`` the median of the differences (no interval). Fewer than one non-zero
        difference: NaN with a warning.
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise InputValidationError(
            f"alternative: expected two-sided, greater or less; got {alternative!r}."
        )
    a = _validate.scores(x, "x")
    b = _validate.scores(y, "y")
    _validate.same_length(x=a, y=b)
    diff = a - b
    nonzero = diff[diff != 0]
    n = int(nonzero.size)
    median = float(np.median(diff)) if diff.size else math.nan
    effect = Estimate(
        "median_difference", median, math.nan, math.nan, "median of x - y", int(diff.size)
    )
    if n == 0:
        message = warn_undefined("Wilcoxon: every difference is zero, so the test is undefined")
        return HypothesisTest(
            name,
            math.nan,
            math.nan,
            "Wilcoxon signed-rank",
            0,
            "V",
            effect=effect,
            warnings=(message,),
        )
    ranks = stats.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    ties = np.unique(np.abs(nonzero)).size < n
    exact = n < 50 and not ties and n == diff.size
    result = stats.wilcoxon(
        nonzero,
        zero_method="wilcox",
        correction=not exact,
        alternative=alternative,
        method="exact" if exact else "approx",
    )
    method = (
        "Wilcoxon signed-rank, exact"
        if exact
        else "Wilcoxon signed-rank, normal approximation with continuity correction"
    )
    if alternative != "two-sided":
        method += f" (one-sided, {alternative})"
    return HypothesisTest(name, v, float(result.pvalue), method, n, "V", effect=effect)
